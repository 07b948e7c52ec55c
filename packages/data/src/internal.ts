import { InvalidArgumentError } from '@detkit/core';
import { reportIssue, type DataIssueKind, type OnInvalid, type SkipReport } from './errors';
import type { DetectionSample, ImageSource } from './types';

/** Default tolerance, in pixels, for boxes that reach slightly beyond the image (they are clipped). */
export const DEFAULT_BOX_TOLERANCE = 1;

/** Options every reader shares. */
export interface ReadOptions {
  /** Name of the file being read, used in errors. Default `'<memory>'`. */
  file?: string;
  /** Throw a {@link DataError} at the first invalid record (default), or skip such records and count them. */
  onInvalid?: OnInvalid;
  /**
   * How far, in pixels, a box may reach beyond the image before it is an error; boxes within the
   * tolerance are clipped to the image. Default 1 (annotation tools round outwards).
   */
  boxTolerance?: number;
}

/** Joins a folder (path or URL) and a relative file name with '/'. */
export function joinPath(root: string, name: string): string {
  if (!root) return name;
  return root.endsWith('/') || root.endsWith('\\') ? root + name : `${root}/${name}`;
}

export function isFiniteNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/** Collects one image's objects, checking each box before it is accepted. */
export class ObjectCollector {
  readonly boxes: number[] = [];
  readonly labels: number[] = [];
  readonly iscrowd: number[] = [];
  readonly difficult: number[] = [];
  readonly area: number[] = [];

  constructor(
    private readonly file: string,
    private readonly width: number,
    private readonly height: number,
    private readonly tolerance: number,
    private readonly onInvalid: OnInvalid,
    private readonly skipped: SkipReport,
  ) {}

  /** Reports an issue with `record`; returns false (the record is skipped) unless it throws. */
  issue(record: string, kind: DataIssueKind, problem: string): false {
    reportIssue(this.onInvalid, this.skipped, { file: this.file, record, kind, problem });
    return false;
  }

  /**
   * Checks an xyxy box against the image and adds it, clipped to the image when it reaches beyond by at
   * most the tolerance. Returns whether it was added.
   */
  add(record: string, box: readonly number[], label: number, flags: { iscrowd?: number; difficult?: number; area?: number }): boolean {
    const [x1, y1, x2, y2] = box as [number, number, number, number];
    if (!box.every((v) => Number.isFinite(v))) return this.issue(record, 'box-not-finite', `box [${box.join(', ')}] has a NaN or infinite coordinate`);
    if (x2 < x1) return this.issue(record, 'box-inverted', `box [${box.join(', ')}] has x2 < x1`);
    if (y2 < y1) return this.issue(record, 'box-inverted', `box [${box.join(', ')}] has y2 < y1`);
    if (x2 === x1 || y2 === y1) return this.issue(record, 'box-inverted', `box [${box.join(', ')}] has zero ${x2 === x1 ? 'width' : 'height'}`);
    const t = this.tolerance;
    if (x1 < -t || y1 < -t || x2 > this.width + t || y2 > this.height + t) {
      return this.issue(record, 'box-outside-image', `box [${box.join(', ')}] lies outside the ${this.width} x ${this.height} image (tolerance ${t} px)`);
    }
    const c = [Math.max(0, x1), Math.max(0, y1), Math.min(this.width, x2), Math.min(this.height, y2)] as const;
    if (c[2] <= c[0] || c[3] <= c[1]) {
      return this.issue(record, 'box-outside-image', `box [${box.join(', ')}] has no area inside the ${this.width} x ${this.height} image`);
    }
    this.boxes.push(...c);
    this.labels.push(label);
    this.iscrowd.push(flags.iscrowd ?? 0);
    this.difficult.push(flags.difficult ?? 0);
    this.area.push(flags.area ?? (c[2] - c[0]) * (c[3] - c[1]));
    return true;
  }

  sample(id: number | string, image: ImageSource, withArea: boolean): DetectionSample {
    return {
      id,
      image,
      width: this.width,
      height: this.height,
      boxes: Float32Array.from(this.boxes),
      labels: Int32Array.from(this.labels),
      iscrowd: Uint8Array.from(this.iscrowd),
      difficult: Uint8Array.from(this.difficult),
      ...(withArea ? { area: Float32Array.from(this.area) } : {}),
    };
  }
}

/** The reader options, checked and with defaults. */
export function readOptions(op: string, options: ReadOptions): Required<ReadOptions> {
  const { file = '<memory>', onInvalid = 'throw', boxTolerance = DEFAULT_BOX_TOLERANCE } = options;
  if (onInvalid !== 'throw' && onInvalid !== 'skip') {
    throw new InvalidArgumentError(op, 'onInvalid', `must be 'throw' or 'skip', got ${JSON.stringify(onInvalid)}`);
  }
  if (!isFiniteNumber(boxTolerance) || boxTolerance < 0) {
    throw new InvalidArgumentError(op, 'boxTolerance', `must be a finite number >= 0, got ${String(boxTolerance)}`);
  }
  return { file, onInvalid, boxTolerance };
}
