import { InvalidArgumentError, InvalidValueError, ShapeError, tf } from '@detkit/core';

/** Boxes as a tensor [N, 4], nested arrays [[x1, y1, x2, y2], ...] or a flat array of N * 4 numbers. */
export type BoxesInput = tf.Tensor | ArrayLike<number> | ArrayLike<ArrayLike<number>>;
/** One number per box: a tensor [N] or an array. */
export type ValuesInput = tf.Tensor | ArrayLike<number> | ArrayLike<boolean>;

/**
 * The ground truth of one image. Boxes are xyxy in absolute pixels (continuous coordinates).
 */
export interface GroundTruth {
  /** [N, 4] xyxy. */
  boxes: BoxesInput;
  /** [N] integer class ids. */
  labels: ValuesInput;
  /** [N] COCO crowd flags (1 / true = crowd region). Default all 0. Used by COCO evaluation. */
  iscrowd?: ValuesInput;
  /** [N] VOC difficult flags. Default all 0. Used by VOC evaluation. */
  difficult?: ValuesInput;
  /** [N] object areas for COCO's area ranges (COCO files give the segment area). Default: box width x height. */
  area?: ValuesInput;
}

/** The detections of one image: boxes xyxy in absolute pixels, a score and a class id each. */
export interface Detections {
  /** [D, 4] xyxy. */
  boxes: BoxesInput;
  /** [D] confidence; higher is more confident. */
  scores: ValuesInput;
  /** [D] integer class ids. */
  labels: ValuesInput;
}

/** One image's inputs, read into flat float64 arrays and checked. @internal */
export interface ImageGt {
  boxes: Float64Array;
  labels: Int32Array;
  iscrowd: Uint8Array;
  difficult: Uint8Array;
  area: Float64Array;
}

/** @internal */
export interface ImageDt {
  boxes: Float64Array;
  scores: Float64Array;
  labels: Int32Array;
}

function flatValues(x: unknown): number[] | ArrayLike<number> {
  if (x instanceof tf.Tensor) return x.dataSync() as ArrayLike<number>;
  return x as ArrayLike<number>;
}

function readBoxes(op: string, arg: string, x: BoxesInput): Float64Array {
  if (x instanceof tf.Tensor) {
    if (!(x.size === 0 || (x.rank === 2 && x.shape[1] === 4))) throw new ShapeError(op, arg, '[N, 4]', x.shape);
    return Float64Array.from(x.dataSync() as ArrayLike<number>);
  }
  if (x === null || typeof x !== 'object' || typeof (x as ArrayLike<unknown>).length !== 'number') {
    throw new InvalidArgumentError(op, arg, 'must be a tensor [N, 4], [[x1, y1, x2, y2], ...] or a flat array of N * 4 numbers');
  }
  const arr = x as ArrayLike<unknown>;
  if (arr.length > 0 && typeof arr[0] === 'object' && arr[0] !== null) {
    const out = new Float64Array(arr.length * 4);
    for (let i = 0; i < arr.length; i++) {
      const row = arr[i] as ArrayLike<number>;
      if (!row || row.length !== 4) throw new ShapeError(op, arg, '[N, 4]', [arr.length, row ? row.length : 0]);
      for (let j = 0; j < 4; j++) out[4 * i + j] = row[j] as number;
    }
    return out;
  }
  if (arr.length % 4 !== 0) throw new ShapeError(op, arg, '[N * 4] (flat xyxy)', [arr.length]);
  return Float64Array.from(arr as ArrayLike<number>);
}

function readValues(op: string, arg: string, x: ValuesInput | undefined, n: number, fill: number): Float64Array {
  if (x === undefined) return new Float64Array(n).fill(fill);
  const v = flatValues(x);
  if (v === null || typeof v !== 'object' || typeof v.length !== 'number') throw new InvalidArgumentError(op, arg, 'must be a tensor or an array of numbers');
  if (v.length !== n) throw new ShapeError(op, arg, `[${n}] (one per box)`, [v.length]);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const e = v[i] as unknown;
    out[i] = typeof e === 'boolean' ? Number(e) : (e as number);
    if (typeof e !== 'boolean' && (typeof e !== 'number' || !Number.isFinite(e))) throw new InvalidValueError(op, arg, `has a non-finite or non-numeric value ${String(e)}`, i);
  }
  return out;
}

function checkBoxes(op: string, arg: string, b: Float64Array): void {
  for (let i = 0; i < b.length; i += 4) {
    const [x1, y1, x2, y2] = [b[i], b[i + 1], b[i + 2], b[i + 3]] as [number, number, number, number];
    if (!(Number.isFinite(x1) && Number.isFinite(y1) && Number.isFinite(x2) && Number.isFinite(y2))) throw new InvalidValueError(op, arg, 'has a NaN or infinite coordinate', i / 4);
    if (x2 < x1) throw new InvalidValueError(op, arg, 'has a box with x2 < x1', i / 4);
    if (y2 < y1) throw new InvalidValueError(op, arg, 'has a box with y2 < y1', i / 4);
  }
}

function toLabels(op: string, arg: string, v: Float64Array): Int32Array {
  const out = new Int32Array(v.length);
  v.forEach((x, i) => {
    if (!Number.isInteger(x)) throw new InvalidValueError(op, arg, `has a non-integer class id ${x}`, i);
    out[i] = x;
  });
  return out;
}

function toFlags(v: Float64Array): Uint8Array {
  return Uint8Array.from(v, (x) => (x ? 1 : 0));
}

const GT_KEYS = ['boxes', 'labels', 'iscrowd', 'difficult', 'area'] as const;
const DT_KEYS = ['boxes', 'scores', 'labels'] as const;

/** Levenshtein distance of two short strings. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length] as number;
}

/**
 * Checks an image entry's keys: the required ones are present (a missing `scores` was read as zeros,
 * giving a score instead of an error), and no key looks like a misspelling of a known one (`score`,
 * `label`, `isCrowd`, `difficulty`: within two edits, ignoring case, or one a prefix of the other), which
 * would otherwise be ignored. Other extra keys (an image id) are allowed. Errors name the entry and key
 * (`detections[3].scores`).
 */
function checkKeys(op: string, where: string, entry: object, known: readonly string[], required: readonly string[]): void {
  for (const key of Object.keys(entry)) {
    if (known.includes(key)) continue;
    const lower = key.toLowerCase();
    const near = known.find((k) => k.startsWith(lower) || lower.startsWith(k) || editDistance(lower, k) <= 2);
    if (near !== undefined) throw new InvalidArgumentError(op, `${where}.${key}`, `is not a known key; did you mean '${near}'? (known: ${known.join(', ')})`);
  }
  for (const key of required) {
    if ((entry as Record<string, unknown>)[key] === undefined) throw new InvalidArgumentError(op, `${where}.${key}`, 'is missing (required)');
  }
}

/** Reads and checks per-image ground truth and detections (equal counts of images). @internal */
export function readInputs(op: string, groundTruth: readonly GroundTruth[], detections: readonly Detections[]): { gts: ImageGt[]; dts: ImageDt[] } {
  if (!Array.isArray(groundTruth)) throw new InvalidArgumentError(op, 'groundTruth', 'must be an array with one entry per image');
  if (!Array.isArray(detections)) throw new InvalidArgumentError(op, 'detections', 'must be an array with one entry per image');
  if (groundTruth.length !== detections.length) {
    throw new InvalidArgumentError(op, 'detections', `must have one entry per image of groundTruth (${groundTruth.length}), got ${detections.length}`);
  }
  const gts = groundTruth.map((g, i) => {
    const a = `groundTruth[${i}]`;
    if (!g || typeof g !== 'object') throw new InvalidArgumentError(op, a, 'must be { boxes, labels, ... }');
    checkKeys(op, a, g, GT_KEYS, ['boxes', 'labels']);
    const boxes = readBoxes(op, `${a}.boxes`, g.boxes);
    checkBoxes(op, `${a}.boxes`, boxes);
    const n = boxes.length / 4;
    const labels = toLabels(op, `${a}.labels`, readValues(op, `${a}.labels`, g.labels, n, 0));
    const area = g.area === undefined ? Float64Array.from({ length: n }, (_, j) => ((boxes[4 * j + 2] as number) - (boxes[4 * j] as number)) * ((boxes[4 * j + 3] as number) - (boxes[4 * j + 1] as number))) : readValues(op, `${a}.area`, g.area, n, 0);
    return { boxes, labels, area, iscrowd: toFlags(readValues(op, `${a}.iscrowd`, g.iscrowd, n, 0)), difficult: toFlags(readValues(op, `${a}.difficult`, g.difficult, n, 0)) };
  });
  const dts = detections.map((d, i) => {
    const a = `detections[${i}]`;
    if (!d || typeof d !== 'object') throw new InvalidArgumentError(op, a, 'must be { boxes, scores, labels }');
    checkKeys(op, a, d, DT_KEYS, DT_KEYS);
    const boxes = readBoxes(op, `${a}.boxes`, d.boxes);
    checkBoxes(op, `${a}.boxes`, boxes);
    const n = boxes.length / 4;
    return { boxes, scores: readValues(op, `${a}.scores`, d.scores, n, 0), labels: toLabels(op, `${a}.labels`, readValues(op, `${a}.labels`, d.labels, n, 0)) };
  });
  return { gts, dts };
}

/** Class ids to evaluate: the given list (checked), or the sorted union of every label. @internal */
export function classList(op: string, classes: readonly number[] | undefined, gts: ImageGt[], dts: ImageDt[]): number[] {
  if (classes !== undefined) {
    if (!Array.isArray(classes) || !classes.every((c) => Number.isInteger(c))) throw new InvalidArgumentError(op, 'classes', 'must be an array of integer class ids');
    if (new Set(classes).size !== classes.length) throw new InvalidArgumentError(op, 'classes', 'must not repeat a class id');
    return [...classes].sort((a, b) => a - b);
  }
  const set = new Set<number>();
  for (const g of gts) g.labels.forEach((l) => set.add(l));
  for (const d of dts) d.labels.forEach((l) => set.add(l));
  return [...set].sort((a, b) => a - b);
}

/** Indices 0..n-1 ordered by descending score, ties in index order (a stable sort, as numpy's mergesort). @internal */
export function orderByScore(scores: ArrayLike<number>, indices?: readonly number[]): number[] {
  const idx = indices ? [...indices] : Array.from({ length: scores.length }, (_, i) => i);
  return idx.sort((a, b) => (scores[b] as number) - (scores[a] as number));
}
