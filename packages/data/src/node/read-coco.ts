import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseCoco, type CocoDataset } from '../coco';
import { DataError, reportIssue, type OnInvalid } from '../errors';
import type { DetectionSample } from '../types';

/** Options of {@link readCoco}. */
export interface ReadCocoOptions {
  /** Folder the images' `file_name`s are relative to. Default: the annotation file's folder. */
  imageRoot?: string;
  /** Check that every image file exists (one `access` call each); default true. */
  checkImages?: boolean;
  /** Throw at the first invalid record (default) or skip and count. */
  onInvalid?: OnInvalid;
  /** Pixels a box may reach beyond its image before it is an error; default 1. */
  boxTolerance?: number;
}

/** Calls `fn` on every item, at most `limit` at a time, in order of completion. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Reads a COCO instances file from disk (Node) with {@link parseCoco}, each sample's `image` being the
 * image's path; with `checkImages`, a missing image is a {@link DataError} `'missing-image'` naming the
 * file and the image record (or, with `onInvalid: 'skip'`, the image is left out and counted).
 */
export async function readCoco(annotationFile: string, options: ReadCocoOptions = {}): Promise<CocoDataset> {
  let text: string;
  try {
    text = await readFile(annotationFile, 'utf8');
  } catch (cause) {
    throw new DataError({ file: annotationFile, record: '', kind: 'malformed-file', problem: `cannot be read (${(cause as NodeJS.ErrnoException).code ?? String(cause)})` }, { cause });
  }
  const imageRoot = options.imageRoot ?? path.dirname(annotationFile);
  const onInvalid = options.onInvalid ?? 'throw';
  const ds = parseCoco(text, { file: annotationFile, imageRoot, onInvalid, ...(options.boxTolerance !== undefined ? { boxTolerance: options.boxTolerance } : {}) });
  if (options.checkImages === false) return ds;
  const missing = new Set<number>();
  await forEachLimited(ds.samples, 32, async (s, i) => {
    try {
      await access(s.image as string);
    } catch {
      missing.add(i);
    }
  });
  if (missing.size === 0) return ds;
  const skipped = { ...ds.skipped, byKind: { ...ds.skipped.byKind }, examples: [...ds.skipped.examples] };
  const samples: DetectionSample[] = [];
  ds.samples.forEach((s, i) => {
    if (!missing.has(i)) return void samples.push(s);
    reportIssue(onInvalid, skipped, { file: annotationFile, record: `image id ${s.id} (${s.image as string})`, kind: 'missing-image', problem: 'its image file does not exist' });
  });
  return { ...ds, samples, skipped };
}
