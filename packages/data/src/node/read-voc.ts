import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DataError, emptySkipReport, mergeSkipReports, reportIssue, type OnInvalid, type SkipReport } from '../errors';
import type { DetectionDataset, DetectionSample } from '../types';
import { parseVocXml, vocClassNames } from '../voc';
import { forEachLimited } from './read-coco';

/** Options of {@link readVoc}. */
export interface ReadVocOptions {
  /** Image set: `ImageSets/Main/<split>.txt`; default `'trainval'`. */
  split?: string;
  /**
   * Class names, label i = `classes[i]`; an object whose `<name>` is not among them is a
   * {@link DataError} `'unknown-category'` naming its XML file. Default: read from the data, the sorted
   * union of the names in the split's annotation files (for the 20 Pascal classes this is
   * `VOC_CLASSES`' order, which is alphabetical). Read a second split with the first one's
   * `classes`, so that labels mean the same in both.
   */
  classes?: readonly string[];
  /** Check that every image file exists; default true. */
  checkImages?: boolean;
  /** Throw at the first invalid record (default) or skip and count. */
  onInvalid?: OnInvalid;
  /** Pixels a box may reach beyond its image before it is an error; default 1. */
  boxTolerance?: number;
}

/** A VOC image set read into samples. */
export interface VocDataset extends DetectionDataset {
  readonly skipped: SkipReport;
}

/**
 * Reads a Pascal VOC data set in the devkit's folder layout (Node): the ids in
 * `<root>/ImageSets/Main/<split>.txt`, each annotation `<root>/Annotations/<id>.xml` (parsed by
 * {@link parseVocXml}), each image `<root>/JPEGImages/<filename>`. `root` is the year folder, e.g.
 * `VOCdevkit/VOC2007`.
 *
 * Classes: `options.classes`, or the sorted union of the object names in the split's files.
 *
 * A missing image set or annotation file, or (with `checkImages`) a missing image, is a
 * {@link DataError} naming the file; with `onInvalid: 'skip'` bad objects and missing images are
 * skipped and counted, while a missing or malformed annotation file still throws.
 */
export async function readVoc(root: string, options: ReadVocOptions = {}): Promise<VocDataset> {
  const split = options.split ?? 'trainval';
  const onInvalid = options.onInvalid ?? 'throw';
  const listFile = path.join(root, 'ImageSets', 'Main', `${split}.txt`);
  const read = async (file: string) => {
    try {
      return await readFile(file, 'utf8');
    } catch (cause) {
      throw new DataError({ file, record: '', kind: 'malformed-file', problem: `cannot be read (${(cause as NodeJS.ErrnoException).code ?? String(cause)})` }, { cause });
    }
  };
  // Lines are "<id>" (or "<id> <flag>" in the per-class lists); blank lines are ignored.
  const ids = (await read(listFile)).split(/\r?\n/).map((l) => l.trim().split(/\s+/)[0] ?? '').filter((id) => id !== '');
  const annotationFile = (id: string) => path.join(root, 'Annotations', `${id}.xml`);
  const texts: string[] = new Array(ids.length);
  await forEachLimited(ids, 16, async (id, i) => {
    texts[i] = await read(annotationFile(id));
  });
  let classes = options.classes;
  if (classes === undefined) {
    const names = new Set<string>();
    texts.forEach((xml, i) => vocClassNames(xml, annotationFile(ids[i] as string)).forEach((n) => names.add(n)));
    classes = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
  const samples: (DetectionSample | null)[] = new Array(ids.length).fill(null);
  const perFile: SkipReport[] = new Array(ids.length);
  await forEachLimited(ids, 16, async (id, i) => {
    const file = annotationFile(id);
    const rec = parseVocXml(texts[i] as string, {
      file,
      id,
      classes,
      onInvalid,
      imageRoot: path.join(root, 'JPEGImages'),
      ...(options.boxTolerance !== undefined ? { boxTolerance: options.boxTolerance } : {}),
    });
    perFile[i] = rec.skipped;
    if (options.checkImages !== false) {
      try {
        await access(rec.sample.image as string);
      } catch {
        const issue = { file, record: `<filename> (${rec.sample.image as string})`, kind: 'missing-image' as const, problem: 'its image file does not exist' };
        perFile[i] = { ...rec.skipped, byKind: { ...rec.skipped.byKind }, examples: [...rec.skipped.examples] };
        reportIssue(onInvalid, perFile[i] as SkipReport, issue);
        return;
      }
    }
    samples[i] = rec.sample;
  });
  const skipped = emptySkipReport();
  for (const r of perFile) if (r) mergeSkipReports(skipped, r);
  return { classes, samples: samples.filter((s): s is DetectionSample => s !== null), skipped };
}
