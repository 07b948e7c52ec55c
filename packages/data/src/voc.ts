import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { DataError, emptySkipReport, type SkipReport } from './errors';
import { ObjectCollector, joinPath, readOptions, type ReadOptions } from './internal';
import type { DetectionSample } from './types';

/** The 20 Pascal VOC classes, in the devkit's order (label i is `VOC_CLASSES[i]`). */
export const VOC_CLASSES: readonly string[] = [
  'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
  'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor',
];

/** Options of {@link parseVocXml}. */
export interface ParseVocOptions extends ReadOptions {
  /**
   * Class names; an object's label is the index of its `<name>`. Default {@link VOC_CLASSES} (one file
   * cannot tell the data set's classes; `readVoc` reads them from the whole split).
   */
  classes?: readonly string[];
  /** Folder (path or URL) of the images (VOC's `JPEGImages`), prefixed to `<filename>`. Default ''. */
  imageRoot?: string;
  /** The sample id. Default: `<filename>` without its extension. */
  id?: string;
}

/** One VOC annotation read into a sample, with what was skipped. */
export interface VocRecord {
  /** The sample (with the objects that passed the checks). */
  readonly sample: DetectionSample;
  /** Objects skipped under `onInvalid: 'skip'`. */
  readonly skipped: SkipReport;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false, // numbers are parsed (and checked) here
  trimValues: true,
  isArray: (_name, jpath) => jpath === 'annotation.object',
});

function text(x: unknown): string | undefined {
  if (typeof x === 'string') return x;
  if (typeof x === 'number') return String(x);
  return undefined;
}

/** The `<annotation>` element of a VOC file; malformed XML or a missing element throws. */
function parseAnnotation(xml: string, file: string): Record<string, unknown> {
  const fail = (problem: string): never => {
    throw new DataError({ file, record: '', kind: 'malformed-file', problem });
  };
  const valid = XMLValidator.validate(xml);
  if (valid !== true) fail(`is not well-formed XML (line ${valid.err.line}, column ${valid.err.col}: ${valid.err.msg})`);
  const doc = parser.parse(xml) as Record<string, unknown>;
  const ann = doc.annotation as Record<string, unknown> | undefined;
  if (typeof ann !== 'object' || ann === null) fail('has no <annotation> element');
  return ann as Record<string, unknown>;
}

/**
 * The class names (`<object><name>`) used in one VOC annotation, in file order with repeats; objects
 * without a name are left out (the reader reports them). `readVoc` takes the sorted union of these
 * over a split as its classes when none are given.
 *
 * @throws {@link DataError} `'malformed-file'` naming `file` when the XML does not parse or has no `<annotation>`.
 */
export function vocClassNames(xml: string, file = '<memory>'): string[] {
  const list = (parseAnnotation(xml, file).object ?? []) as unknown[];
  const names: string[] = [];
  for (const o of list) {
    const name = typeof o === 'object' && o !== null ? text((o as Record<string, unknown>).name) : undefined;
    if (name) names.push(name);
  }
  return names;
}

/**
 * Reads one Pascal VOC annotation (`Annotations/<id>.xml`) into a {@link DetectionSample}.
 *
 * - Boxes: VOC's `<bndbox>` holds 1-based inclusive pixel indices; the sample holds
 *   `[xmin - 1, ymin - 1, xmax, ymax]`, continuous xyxy coordinates (detectron2's conversion). IoU on
 *   these equals the devkit's IoU with its `+1` widths on the raw values, so VOC AP is unchanged.
 * - `<difficult>1</difficult>` sets the `difficult` flag (VOC evaluation ignores these objects);
 *   `truncated`, `occluded` and `pose` are not kept.
 * - The size comes from `<size><width>` and `<height>` (positive integers).
 *
 * The XML is parsed by `fast-xml-parser`. Bad data throws a {@link DataError} naming `options.file` and
 * the record (`object[2] (name "dog")`): XML that does not parse or has no `<annotation>`, `<filename>`
 * or `<size>` (`'malformed-file'`), an object without `<name>` or `<bndbox>`, a class not in `classes`
 * (`'unknown-category'`), coordinates that are not numbers, xmax < xmin, a box beyond the image. With
 * `onInvalid: 'skip'` bad objects are left out and counted; a malformed file always throws.
 */
export function parseVocXml(xml: string, options: ParseVocOptions = {}): VocRecord {
  const { file, onInvalid, boxTolerance } = readOptions('parseVocXml', options);
  const classes = options.classes ?? VOC_CLASSES;
  const skipped = emptySkipReport();
  const fail = (problem: string): never => {
    throw new DataError({ file, record: '', kind: 'malformed-file', problem });
  };
  const a = parseAnnotation(xml, file);
  const filename = text(a.filename);
  if (!filename) fail('has no <filename>');
  const size = a.size as Record<string, unknown> | undefined;
  const width = Number(text(size?.width));
  const height = Number(text(size?.height));
  if (!(width > 0 && height > 0 && Number.isSafeInteger(width) && Number.isSafeInteger(height))) {
    fail(`has no valid <size> (width ${JSON.stringify(size?.width)}, height ${JSON.stringify(size?.height)}; expected positive integers)`);
  }
  const objects = new ObjectCollector(file, width, height, boxTolerance, onInvalid, skipped);
  const list = (a.object ?? []) as unknown[];
  list.forEach((o, i) => {
    const obj = (typeof o === 'object' && o !== null ? o : {}) as Record<string, unknown>;
    const name = text(obj.name);
    const rec = `object[${i}]${name !== undefined ? ` (name ${JSON.stringify(name)})` : ''}`;
    if (name === undefined || name === '') return objects.issue(rec, 'malformed-record', 'has no <name>');
    const label = classes.indexOf(name);
    if (label < 0) {
      const list = classes.length <= 8 ? ` (${classes.map((c) => JSON.stringify(c)).join(', ')})` : '';
      return objects.issue(rec, 'unknown-category', `has class ${JSON.stringify(name)}, which is not one of the ${classes.length} classes${list}`);
    }
    const bb = obj.bndbox as Record<string, unknown> | undefined;
    if (typeof bb !== 'object' || bb === null) return objects.issue(rec, 'malformed-record', 'has no <bndbox>');
    const raw = ['xmin', 'ymin', 'xmax', 'ymax'].map((k) => text(bb[k]));
    if (raw.some((v) => v === undefined || v === '')) return objects.issue(rec, 'malformed-record', `has an incomplete <bndbox> (${JSON.stringify(bb)})`);
    const [xmin, ymin, xmax, ymax] = raw.map(Number) as [number, number, number, number];
    if (![xmin, ymin, xmax, ymax].every(Number.isFinite)) return objects.issue(rec, 'box-not-finite', `has <bndbox> values ${raw.join(', ')} that are not all numbers`);
    if (xmax < xmin) return objects.issue(rec, 'box-inverted', `has xmax ${xmax} < xmin ${xmin} (x2 < x1)`);
    if (ymax < ymin) return objects.issue(rec, 'box-inverted', `has ymax ${ymax} < ymin ${ymin} (y2 < y1)`);
    const difficultText = text(obj.difficult);
    const difficult = difficultText === undefined || difficultText === '' ? 0 : Number(difficultText);
    if (difficult !== 0 && difficult !== 1) return objects.issue(rec, 'malformed-record', `has <difficult> ${JSON.stringify(difficultText)}, expected 0 or 1`);
    return objects.add(rec, [xmin - 1, ymin - 1, xmax, ymax], label, { difficult });
  });
  const id = options.id ?? (filename as string).replace(/\.[^./\\]*$/, '');
  return { sample: objects.sample(id, joinPath(options.imageRoot ?? '', filename as string), false), skipped };
}
