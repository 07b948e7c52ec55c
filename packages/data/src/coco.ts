import { z } from 'zod';
import { DataError, emptySkipReport, reportIssue, type SkipReport } from './errors';
import { ObjectCollector, joinPath, readOptions, type ReadOptions } from './internal';
import type { DetectionDataset, DetectionSample } from './types';

/** Options of {@link parseCoco}. */
export interface ParseCocoOptions extends ReadOptions {
  /** Folder (path or URL) that `images[].file_name` is relative to; becomes each sample's `image` prefix. Default ''. */
  imageRoot?: string;
}

/** A COCO instances file read into samples. */
export interface CocoDataset extends DetectionDataset {
  /** COCO category id of each class index: label i is category `categoryIds[i]` (sorted ascending). */
  readonly categoryIds: readonly number[];
  /** What was skipped under `onInvalid: 'skip'` (all zero otherwise). */
  readonly skipped: SkipReport;
}

/** The parts of a COCO instances file detkit reads and writes. */
export interface CocoJson {
  info?: Record<string, unknown>;
  images: { id: number; file_name: string; width: number; height: number }[];
  annotations: { id: number; image_id: number; category_id: number; bbox: [number, number, number, number]; area: number; iscrowd: 0 | 1 }[];
  categories: { id: number; name: string; supercategory?: string }[];
}

function describe(kind: string, i: number, rec: unknown, keys: string[]): string {
  const r = (typeof rec === 'object' && rec !== null ? rec : {}) as Record<string, unknown>;
  const parts = keys.filter((k) => r[k] !== undefined).map((k) => `${k} ${JSON.stringify(r[k])}`);
  return `${kind}[${i}]${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isId(x: unknown): x is number {
  return Number.isSafeInteger(x);
}

// The shape of each record, as zod schemas whose messages say what was expected; the checks across records
// (duplicate ids, unknown images and categories, boxes against their image) are made in parseCoco.
const XYWH = '[x, y, w, h]';
const id = z.int({ error: 'an integer' });
const positivePixels = z.int({ error: 'a positive integer (pixels)' }).positive({ error: 'a positive integer (pixels)' });
const categorySchema = z.looseObject({ id, name: z.string({ error: 'a string name' }) }, { error: 'an object' });
const imageSchema = z.looseObject(
  { id, file_name: z.string({ error: 'a file name' }).min(1, { error: 'a file name' }), width: positivePixels, height: positivePixels },
  { error: 'an object' },
);
const annotationSchema = z.looseObject(
  {
    id: id.optional(), // a results file has none
    image_id: id,
    bbox: z.array(z.unknown(), { error: XYWH }).length(4, { error: XYWH }).pipe(z.array(z.number({ error: `${XYWH}: a non-numeric coordinate` }))),
    iscrowd: z.union([z.literal(0), z.literal(1), z.boolean()], { error: '0 or 1' }).optional(),
    area: z.number({ error: 'a number >= 0' }).nonnegative({ error: 'a number >= 0' }).optional(),
  },
  { error: 'an object' },
);

/**
 * The first thing wrong with a record's shape, as `has <field> <value>, expected <what>` (or `is not an
 * object`) with the field's path; `nonNumericBox` when it is a bbox coordinate. Undefined when the shape is right.
 */
function shapeIssue(schema: z.ZodType, rec: unknown): { problem: string; nonNumericBox: boolean } | undefined {
  const result = schema.safeParse(rec);
  if (result.success) return undefined;
  const issue = result.error.issues[0]!;
  const [field] = issue.path;
  if (field === undefined || !isRecord(rec)) return { problem: 'is not an object', nonNumericBox: false };
  const value = rec[field as string];
  return { problem: `has ${String(field)} ${JSON.stringify(value)}, expected ${issue.message}`, nonNumericBox: field === 'bbox' && issue.path.length > 1 };
}

/**
 * Reads a COCO instances file (the `images`, `annotations` and `categories` arrays) into one
 * {@link DetectionSample} per image, in the file's image order.
 *
 * - Boxes: COCO `bbox` is `[x, y, w, h]` in absolute pixels; samples hold `[x, y, x + w, y + h]` (xyxy).
 * - Labels: categories are sorted by id and numbered 0..K-1 (`categoryIds[label]` gives the COCO id
 *   back), as torchvision's and detectron2's COCO mappers do.
 * - `iscrowd` and `area` are kept per object (COCO evaluation needs both); `difficult` is 0.
 * - Images without annotations are kept, with no objects.
 *
 * Bad data throws a {@link DataError} naming `options.file` and the record (`annotations[17] (id 42,
 * image_id 7)`): a file that is not JSON or lacks the arrays (`'malformed-file'`), a record missing a
 * field (`'malformed-record'`; an image's `width` and `height` must be positive integers), duplicate
 * image, annotation or category ids or category names (`'duplicate-id'`), an unknown `category_id`, a bbox with a
 * NaN, a non-positive width or height (x2 <= x1), or one reaching beyond the image by more than
 * `boxTolerance` pixels. With `onInvalid: 'skip'` such annotations (or images, with their annotations)
 * are left out and counted in `skipped`; a malformed file always throws.
 *
 * @param json - The file's text, or the already parsed object.
 */
export function parseCoco(json: string | unknown, options: ParseCocoOptions = {}): CocoDataset {
  const { file, onInvalid, boxTolerance } = readOptions('parseCoco', options);
  const imageRoot = options.imageRoot ?? '';
  const skipped = emptySkipReport();
  const fail = (problem: string): never => {
    throw new DataError({ file, record: '', kind: 'malformed-file', problem });
  };
  let doc: unknown = json;
  if (typeof json === 'string') {
    try {
      doc = JSON.parse(json);
    } catch (cause) {
      throw new DataError({ file, record: '', kind: 'malformed-file', problem: `is not valid JSON (${cause instanceof Error ? cause.message : String(cause)})` }, { cause });
    }
  }
  if (!isRecord(doc)) fail('is not a COCO object (expected { images, annotations, categories })');
  const d = doc as Record<string, unknown>;
  if (!Array.isArray(d.images)) fail("has no 'images' array");
  if (!Array.isArray(d.categories)) fail("has no 'categories' array");
  if (d.annotations !== undefined && !Array.isArray(d.annotations)) fail("has an 'annotations' field that is not an array");
  const images = d.images as unknown[];
  const cats = d.categories as unknown[];
  const anns = (d.annotations ?? []) as unknown[];

  // Categories: malformed or duplicate ones are errors of the file (they define the label space).
  const catById = new Map<number, string>();
  cats.forEach((c, i) => {
    const rec = describe('categories', i, c, ['id', 'name']);
    const shape = shapeIssue(categorySchema, c);
    if (shape) throw new DataError({ file, record: rec, kind: 'malformed-record', problem: shape.problem });
    const { id: catId, name } = c as z.infer<typeof categorySchema>;
    if (catById.has(catId)) throw new DataError({ file, record: rec, kind: 'duplicate-id', problem: `repeats category id ${catId}` });
    // Two categories of one name would be one class under two labels: outputs could not be mapped back by name.
    const same = [...catById].find(([, other]) => other === name);
    if (same) throw new DataError({ file, record: rec, kind: 'duplicate-id', problem: `repeats category name ${JSON.stringify(name)} (also category id ${same[0]})` });
    catById.set(catId, name);
  });
  const categoryIds = [...catById.keys()].sort((a, b) => a - b);
  const labelOf = new Map(categoryIds.map((id, i) => [id, i]));
  const classes = categoryIds.map((id) => catById.get(id) as string);

  // Images.
  interface ImageEntry {
    id: number;
    fileName: string;
    objects: ObjectCollector;
  }
  const byId = new Map<number, ImageEntry | null>(); // null: skipped image (its annotations go with it)
  const order: ImageEntry[] = [];
  images.forEach((img, i) => {
    const rec = describe('images', i, img, ['id', 'file_name']);
    const bad = (kind: 'malformed-record' | 'duplicate-id', problem: string) => {
      reportIssue(onInvalid, skipped, { file, record: rec, kind, problem });
      if (isRecord(img) && isId(img.id) && !byId.has(img.id)) byId.set(img.id, null);
    };
    const shape = shapeIssue(imageSchema, img);
    if (shape) return bad('malformed-record', shape.problem);
    const { id: imageId, file_name: fileName, width, height } = img as z.infer<typeof imageSchema>;
    if (byId.has(imageId)) return bad('duplicate-id', `repeats image id ${imageId}`);
    const entry = { id: imageId, fileName, objects: new ObjectCollector(file, width, height, boxTolerance, onInvalid, skipped) };
    byId.set(imageId, entry);
    order.push(entry);
  });

  // Annotations. Ids are optional (a results file has none) but, when given, integers and unique.
  const annIds = new Map<number, number>();
  anns.forEach((a, i) => {
    const rec = describe('annotations', i, a, ['id', 'image_id']);
    const bad = (kind: 'malformed-record' | 'duplicate-id' | 'unknown-category' | 'box-not-finite', problem: string) =>
      reportIssue(onInvalid, skipped, { file, record: rec, kind, problem });
    const shape = shapeIssue(annotationSchema, a);
    if (shape) return bad(shape.nonNumericBox ? 'box-not-finite' : 'malformed-record', shape.problem);
    const ann = a as z.infer<typeof annotationSchema> & { category_id?: unknown };
    if (ann.id !== undefined) {
      const first = annIds.get(ann.id);
      if (first !== undefined) return bad('duplicate-id', `repeats annotation id ${ann.id} (first at annotations[${first}])`);
      annIds.set(ann.id, i);
    }
    const entry = byId.get(ann.image_id);
    if (entry === null) return; // its image was skipped and counted
    if (entry === undefined) return bad('malformed-record', `refers to image_id ${ann.image_id}, which is not in 'images'`);
    const label = labelOf.get(ann.category_id as number);
    if (label === undefined) return bad('unknown-category', `has category_id ${JSON.stringify(ann.category_id)}, which is not in 'categories'`);
    const [x, y, w, h] = ann.bbox as [number, number, number, number];
    if (w < 0 || h < 0) {
      return entry.objects.issue(rec, 'box-inverted', `has bbox [${ann.bbox.join(', ')}] with negative ${w < 0 ? 'width' : 'height'} (${w < 0 ? 'x2 < x1' : 'y2 < y1'})`);
    }
    const iscrowd = ann.iscrowd === 1 || ann.iscrowd === true ? 1 : 0;
    entry.objects.add(rec, [x, y, x + w, y + h], label, { iscrowd, ...(ann.area !== undefined ? { area: ann.area } : {}) });
  });

  const samples: DetectionSample[] = order.map((e) => e.objects.sample(e.id, joinPath(imageRoot, e.fileName), true));
  return { classes, categoryIds, samples, skipped };
}

/** Options of {@link toCoco}. */
export interface ToCocoOptions {
  /** The `file_name` written for each sample. Default: the sample's `image` when it is a string, else `${id}.png`. */
  fileName?: (sample: DetectionSample, index: number) => string;
  /** COCO category id of each class index. Default: index + 1 (COCO ids start at 1). */
  categoryIds?: readonly number[];
  /** Written as the file's `info` object. */
  info?: Record<string, unknown>;
}

/**
 * Writes samples as a COCO instances object (serialise it with `JSON.stringify`): boxes become `[x, y,
 * w, h]`, labels become category ids, `area` is the sample's own when it has one, else w x h. Image
 * ids are the sample ids when they are integers, else index + 1; annotation ids count from 1.
 * {@link parseCoco} reads it back to the same samples (boxes equal as float32).
 */
export function toCoco(dataset: DetectionDataset, options: ToCocoOptions = {}): CocoJson {
  const catIds = options.categoryIds ?? dataset.classes.map((_, i) => i + 1);
  const fileName = options.fileName ?? ((s: DetectionSample) => (typeof s.image === 'string' ? s.image : `${s.id}.png`));
  const out: CocoJson = {
    ...(options.info ? { info: options.info } : {}),
    images: [],
    annotations: [],
    categories: dataset.classes.map((name, i) => ({ id: catIds[i] as number, name })),
  };
  let annId = 1;
  dataset.samples.forEach((s, index) => {
    const imageId = isId(s.id) ? s.id : index + 1;
    out.images.push({ id: imageId, file_name: fileName(s, index), width: s.width, height: s.height });
    for (let j = 0; j < s.labels.length; j++) {
      const x1 = s.boxes[4 * j] as number, y1 = s.boxes[4 * j + 1] as number;
      const w = (s.boxes[4 * j + 2] as number) - x1, h = (s.boxes[4 * j + 3] as number) - y1;
      out.annotations.push({
        id: annId++,
        image_id: imageId,
        category_id: catIds[s.labels[j] as number] as number,
        bbox: [x1, y1, w, h],
        area: s.area ? (s.area[j] as number) : w * h,
        iscrowd: s.iscrowd[j] ? 1 : 0,
      });
    }
  });
  return out;
}
