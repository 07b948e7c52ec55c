import { DetkitError } from '@detkit/core';

/**
 * What was wrong with a piece of data:
 * - `'malformed-file'`: the file is not valid JSON / XML, or lacks the structure its format requires.
 * - `'malformed-record'`: a record lacks a required field or has one of the wrong type (a non-numeric
 *   width, a bbox that is not 4 numbers, an annotation of an image that is not in the file).
 * - `'duplicate-id'`: two images, annotations or categories share an id, or two categories a name.
 * - `'unknown-category'`: an object's category id (COCO) or class name (VOC) is not in the class list.
 * - `'box-not-finite'`: a box coordinate is NaN or infinite.
 * - `'box-inverted'`: a box with x2 < x1 or y2 < y1, or of zero width or height (it would give NaN or
 *   infinite regression targets later, log(0) in the box coder).
 * - `'box-outside-image'`: a box extends beyond the image by more than the tolerance.
 * - `'missing-image'`: the image file does not exist or cannot be read.
 * - `'bad-image'`: the image bytes are not a PNG or JPEG that can be decoded, or its size differs from
 *   the size the annotation file gives.
 */
export type DataIssueKind =
  | 'malformed-file'
  | 'malformed-record'
  | 'duplicate-id'
  | 'unknown-category'
  | 'box-not-finite'
  | 'box-inverted'
  | 'box-outside-image'
  | 'missing-image'
  | 'bad-image';

/** One problem found in the data: where it is and what is wrong. */
export interface DataIssue {
  /** The file it was found in (annotation file, XML file or image), as given to the reader. */
  readonly file: string;
  /** The record within the file, e.g. `annotations[17] (id 42, image_id 7)` or `object[2]`; '' for the whole file. */
  readonly record: string;
  /** Machine-readable kind of problem. */
  readonly kind: DataIssueKind;
  /** Human-readable description, without the file and record. */
  readonly problem: string;
}

/**
 * Bad data: a malformed file, a missing image, an invalid box or an unknown category. The message names
 * the file and the record: `data: instances_val.json: annotations[17] (id 42, image_id 7): bbox has
 * width -3 (x2 < x1)`. Readers throw it unless the caller opted in to skipping (`onInvalid: 'skip'`),
 * in which case the same information is counted in a {@link SkipReport}.
 *
 * Its `code` is `'DATA'`; `kind` says more.
 */
export class DataError extends DetkitError implements DataIssue {
  readonly file: string;
  readonly record: string;
  readonly kind: DataIssueKind;
  readonly problem: string;
  /**
   * True when a reader or the loader threw it under `onInvalid: 'throw'` for a record or image that
   * `onInvalid: 'skip'` would have left out and counted; false for problems skipping cannot get past (a
   * malformed file, a duplicate category).
   */
  readonly skippable: boolean;

  constructor(issue: DataIssue, options?: { cause?: unknown; skippable?: boolean }) {
    super('DATA', `data: ${issue.file}${issue.record ? `: ${issue.record}` : ''}: ${issue.problem}`, options);
    this.name = 'DataError';
    this.file = issue.file;
    this.record = issue.record;
    this.kind = issue.kind;
    this.problem = issue.problem;
    this.skippable = options?.skippable ?? false;
  }
}

/** What to do with an invalid record: throw a {@link DataError} (the default) or skip it and count it. */
export type OnInvalid = 'throw' | 'skip';

/** Counts of what was skipped under `onInvalid: 'skip'`, by kind, with the first few issues in full. */
export interface SkipReport {
  /** Number of records skipped (annotations, objects or images). */
  count: number;
  /** Skipped records per kind of problem. */
  byKind: Partial<Record<DataIssueKind, number>>;
  /** The first {@link MAX_SKIP_EXAMPLES} issues, in the order they were found. */
  examples: DataIssue[];
}

/** How many skipped issues a {@link SkipReport} keeps in full. */
export const MAX_SKIP_EXAMPLES = 20;

/** An empty {@link SkipReport}. */
export function emptySkipReport(): SkipReport {
  return { count: 0, byKind: {}, examples: [] };
}

/**
 * Reports `issue`: throws a {@link DataError} under `'throw'`, or adds it to `report` under `'skip'`.
 * @internal
 */
export function reportIssue(onInvalid: OnInvalid, report: SkipReport, issue: DataIssue): void {
  if (onInvalid !== 'skip') throw new DataError(issue, { skippable: true });
  report.count += 1;
  report.byKind[issue.kind] = (report.byKind[issue.kind] ?? 0) + 1;
  if (report.examples.length < MAX_SKIP_EXAMPLES) report.examples.push(issue);
}

/** Adds the counts of `from` into `into`. @internal */
export function mergeSkipReports(into: SkipReport, from: SkipReport): void {
  into.count += from.count;
  for (const [kind, n] of Object.entries(from.byKind)) {
    into.byKind[kind as DataIssueKind] = (into.byKind[kind as DataIssueKind] ?? 0) + (n ?? 0);
  }
  for (const e of from.examples) if (into.examples.length < MAX_SKIP_EXAMPLES) into.examples.push(e);
}
