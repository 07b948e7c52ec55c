// Test helpers (not exported from the package): the committed torchvision fixtures and error statistics.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { tf } from '@detkit/core';
import { readSafetensors, safetensorsToBigInt64, safetensorsToFloat32, writeSafetensors, type SafetensorsFile, type SafetensorsInput } from './safetensors';
import { IMAGENET_NORMALIZATION } from '@detkit/data';
import { saveDetector } from '@detkit/models';
import type { FasterRcnn, FasterRcnnBoxOutputs, FasterRcnnLoss } from './faster-rcnn';
import type { ParamSpec, TorchParameters } from './state-dict';

/** Reads a fixture written by tooling/fixtures/groups/torchvision.py. */
export function readFixture(file: string): { bytes: Uint8Array; file: SafetensorsFile } {
  const bytes = new Uint8Array(readFileSync(new URL(`../fixtures/${file}`, import.meta.url)));
  return { bytes, file: readSafetensors(bytes) };
}

/** A fixture tensor as a tfjs tensor; NCHW batches (rank 4) and CHW images (`input.*`) transposed to NHWC / HWC. */
export function fixtureTensor(file: SafetensorsFile, name: string, nhwc = true): tf.Tensor {
  const e = file.tensors.get(name);
  if (e === undefined) throw new Error(`fixture has no tensor '${name}'`);
  const t = e.dtype === 'I64' ? tf.tensor(Int32Array.from(safetensorsToBigInt64(e), Number), [...e.shape], 'int32') : tf.tensor(safetensorsToFloat32(e), [...e.shape]);
  if (!nhwc || !(t.rank === 4 || (t.rank === 3 && name.startsWith('input.')))) return t;
  const out = tf.transpose(t, t.rank === 4 ? [0, 2, 3, 1] : [1, 2, 0]);
  t.dispose();
  return out;
}

/** A fixture tensor in torch's layout (a parameter's gradient), permuted to the tfjs layout of the parameter `spec` describes. */
export function fixtureInTfLayout(file: SafetensorsFile, name: string, spec: ParamSpec): tf.Tensor {
  const t = fixtureTensor(file, name, false);
  const perm = { conv: [2, 3, 1, 0], depthwise: [2, 3, 0, 1], linear: [1, 0], plain: null }[spec.layout];
  if (perm === null) return t;
  const out = tf.transpose(t, perm);
  t.dispose();
  return out;
}

/** Error of `actual` against `expected`. */
export interface ErrorStats {
  /** max |a - e|. */
  maxAbs: number;
  /** max |a - e| / max |e|: the error relative to the tensor's magnitude. */
  scaled: number;
  /** max |a - e| / |e| over elements with |e| >= 1e-2 · max |e| (elementwise relative error, for the record). */
  maxRel: number;
  /** max |e|. */
  scale: number;
}

/** Elementwise error statistics of `actual` against `expected` (same shape). */
export function errorStats(actual: tf.Tensor, expected: tf.Tensor): ErrorStats {
  if (actual.shape.join() !== expected.shape.join()) throw new Error(`shape [${actual.shape.join(', ')}] vs expected [${expected.shape.join(', ')}]`);
  const a = actual.dataSync();
  const e = expected.dataSync();
  let scale = 0;
  for (const v of e) scale = Math.max(scale, Math.abs(v));
  let maxAbs = 0;
  let maxRel = 0;
  for (let i = 0; i < e.length; i++) {
    const d = Math.abs((a[i] as number) - (e[i] as number));
    if (!(d <= maxAbs)) maxAbs = d;
    const m = Math.abs(e[i] as number);
    if (m >= 1e-2 * scale && !(d / m <= maxRel)) maxRel = d / m;
  }
  return { maxAbs, scaled: scale > 0 ? maxAbs / scale : maxAbs, maxRel, scale };
}

/**
 * Pairs detections of one image (rows of boxes [D, 4], scores [D], labels [D]) with the expected ones: each
 * expected row, in order, takes the unused row with its label whose score is within `scoreTol`, nearest in
 * box coordinates. Two scores closer than the error bar may come out of sorting and NMS in either order;
 * this undoes that without hiding a wrong box (it would be paired with a distant one and fail the check).
 * @returns Indices into the actual rows, one per expected row (-1 where none qualifies).
 */
export function matchDetections(
  actual: { boxes: ArrayLike<number>; scores: ArrayLike<number>; labels: ArrayLike<number> },
  expected: { boxes: ArrayLike<number>; scores: ArrayLike<number>; labels: ArrayLike<number> },
  scoreTol: number,
): number[] {
  const used = new Uint8Array(actual.scores.length);
  return Array.from({ length: expected.scores.length }, (_, i) => {
    let best = -1;
    let bestDist = Infinity;
    for (let j = 0; j < actual.scores.length; j++) {
      if (used[j] || actual.labels[j] !== expected.labels[i] || Math.abs((actual.scores[j] as number) - (expected.scores[i] as number)) > scoreTol) continue;
      let dist = 0;
      for (let k = 0; k < 4; k++) dist += Math.abs((actual.boxes[4 * j + k] as number) - (expected.boxes[4 * i + k] as number));
      if (dist < bestDist) {
        best = j;
        bestDist = dist;
      }
    }
    if (best >= 0) used[best] = 1;
    return best;
  });
}

/**
 * The parity bar of issue 12: max |detkit - torchvision| <= 1e-4 · max |torchvision| for each tensor. Where
 * torchvision's own float32 result is further than that from the float64 one (deep, badly conditioned
 * layers of a random network), detkit may be off by up to twice torchvision's own error (`own`).
 */
export function expectParity(what: string, s: ErrorStats, own?: number): void {
  const bar = Math.max(1e-4, 2 * (own ?? 0));
  console.log(`${what}: max abs ${s.maxAbs.toExponential(2)}, / max|expected| ${s.scaled.toExponential(2)}${own === undefined ? '' : ` (torchvision float32 vs float64: ${own.toExponential(2)})`}, elementwise rel (|e| >= 1% of max) ${s.maxRel.toExponential(2)}`);
  expect.soft(s.scaled, `${what}: max |detkit - torchvision| / max |torchvision|`).toBeLessThanOrEqual(bar);
}

/**
 * Checks one image's detections (or proposals: no labels) against the fixture's `${prefix}.boxes / .scores /
 * .labels`: same count, every expected row paired by {@link matchDetections} (scores within the bar: 1e-4,
 * or twice torchvision's own float32 error `own.scores` of the largest score), then {@link expectParity} on
 * the paired scores and boxes.
 */
export function expectSameDetections(
  what: string,
  actual: { boxes: tf.Tensor; scores: tf.Tensor; labels?: tf.Tensor },
  outputs: SafetensorsFile,
  prefix: string,
  own: { scores?: number; boxes?: number } = {},
): void {
  tf.tidy(() => {
    const boxes = fixtureTensor(outputs, `${prefix}.boxes`);
    const scores = fixtureTensor(outputs, `${prefix}.scores`);
    const labels = outputs.tensors.has(`${prefix}.labels`) ? fixtureTensor(outputs, `${prefix}.labels`) : tf.zeros(scores.shape, 'int32');
    expect(actual.boxes.shape, `${what}: shape`).toEqual(boxes.shape);
    const got = { boxes: actual.boxes.dataSync(), scores: actual.scores.dataSync(), labels: (actual.labels ?? tf.zeros(actual.scores.shape, 'int32')).dataSync() };
    const want = Array.from(scores.dataSync());
    const tolerance = Math.max(1e-4, 2 * (own.scores ?? 0)) * want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const match = matchDetections(got, { boxes: boxes.dataSync(), scores: want, labels: labels.dataSync() }, Math.max(1e-4, tolerance));
    expect(match.filter((j) => j < 0).length, `${what}: torchvision rows without a counterpart`).toBe(0);
    console.log(`${what}: ${match.length} rows, ${match.filter((j, k) => j !== k).length} in another order than torchvision's (scores within ${Math.max(1e-4, tolerance).toExponential(1)})`);
    if (match.some((j) => j < 0)) return;
    const idx = tf.tensor1d(match, 'int32');
    expectParity(`${what}.scores`, errorStats(tf.gather(actual.scores, idx), scores), own.scores);
    expectParity(`${what}.boxes`, errorStats(tf.gather(actual.boxes, idx), boxes), own.boxes);
  });
}

/**
 * `model.detect` on the fixture's images (`input.{i}`) against torchvision's `model(images)` (`detections.{i}.*`),
 * by {@link expectSameDetections}; it must leave nothing behind but its results. End to end the stages' float32
 * errors compound, so the bar is twice torchvision's own float32-vs-float64 error (`torch_float32_error`'s
 * `detections.scores` / `detections.boxes`) where that exceeds 1e-4.
 */
export function expectDetectParity(what: string, model: { detect(images: tf.Tensor3D[]): Array<{ boxes: tf.Tensor; scores: tf.Tensor; labels: tf.Tensor }> }, outputs: SafetensorsFile, torchError: Readonly<Record<string, number>>): void {
  const count = [...outputs.tensors.keys()].filter((k) => /^input\.\d+$/.test(k)).length;
  const inputs = Array.from({ length: count }, (_, i) => fixtureTensor(outputs, `input.${i}`) as tf.Tensor3D);
  const before = tf.memory().numTensors;
  const dets = model.detect(inputs);
  expect(tf.memory().numTensors).toBe(before + 3 * dets.length);
  const own = { scores: torchError['detections.scores'], boxes: torchError['detections.boxes'] };
  dets.forEach((det, i) => expectSameDetections(`${what} detections.${i}`, det, outputs, `detections.${i}`, own));
  tf.dispose([...inputs, ...dets.flatMap((d) => [d.boxes, d.scores, d.labels])]);
}

/**
 * What a parity test needs from an outputs fixture: the images' sizes after the transform (`image_sizes`,
 * [height, width] each), torchvision's own float32 error per tensor (`torch_float32_error`: max |float32 -
 * float64| / max |float64|, from the generator), `check(what, actual, key)`, {@link expectParity} of a
 * detkit tensor against the fixture's `key` with that error as the allowance, and `checkTransform`.
 */
export function parityFixture(outputs: SafetensorsFile): {
  sizes: Array<[number, number]>;
  torchError: Record<string, number>;
  check(what: string, actual: tf.Tensor, key: string): void;
  /** `model.transform` on the fixture's images (`input.{i}`) against `image_sizes` and `transformed`. */
  checkTransform(what: string, model: { transform(images: tf.Tensor3D[]): { batch: tf.Tensor; imageSizes: Array<[number, number]> } }): void;
} {
  const flat = Array.from(safetensorsToBigInt64(outputs.tensors.get('image_sizes')!), Number);
  const sizes = Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i]!, flat[2 * i + 1]!] as [number, number]);
  const torchError = JSON.parse(outputs.metadata.torch_float32_error!) as Record<string, number>;
  const check = (what: string, actual: tf.Tensor, key: string) => expectParity(what, errorStats(actual, fixtureTensor(outputs, key)), torchError[key]);
  const checkTransform = (what: string, model: { transform(images: tf.Tensor3D[]): { batch: tf.Tensor; imageSizes: Array<[number, number]> } }) =>
    tf.tidy(() => {
      const inputs = sizes.map((_, i) => fixtureTensor(outputs, `input.${i}`) as tf.Tensor3D);
      const t = model.transform(inputs);
      expect(t.imageSizes).toEqual(sizes);
      check(`${what} transformed`, t.batch, 'transformed');
    });
  return { sizes, torchError, check, checkTransform };
}

/**
 * The end of a stage-by-stage Faster R-CNN walk: postprocesses `stages.box`, checks that the stages' outputs
 * (and the detections) are the only tensors made since `start`, disposes them, then checks that
 * `model.detect(image)` leaves exactly its three result tensors.
 */
export function expectStagesLeaveOnlyOutputs(
  model: FasterRcnn<object>,
  image: tf.Tensor3D,
  start: number,
  stages: {
    t: { batch: tf.Tensor; imageSizes: Array<[number, number]> };
    body: tf.Tensor[];
    features: tf.Tensor[];
    head: { objectness: tf.Tensor[]; deltas: tf.Tensor[] };
    anchors: { anchors: tf.Tensor };
    props: { boxes: tf.Tensor2D[]; scores: tf.Tensor[] };
    box: FasterRcnnBoxOutputs;
  },
): void {
  const { t, body, features, head, anchors, props, box } = stages;
  const dets = model.postprocess(box, props.boxes, t.imageSizes);
  const made = [t.batch, ...body, ...features, ...head.objectness, ...head.deltas, anchors.anchors, ...props.boxes, ...props.scores, ...Object.values(box), ...dets.flatMap((d) => [d.boxes, d.scores, d.labels])];
  expect(tf.memory().numTensors).toBe(start + made.length);
  tf.dispose(made);
  const [det] = model.detect(image);
  expect(det!.boxes.shape[1]).toBe(4);
  expect(tf.memory().numTensors).toBe(start + 3);
  tf.dispose([det!.boxes, det!.scores, det!.labels]);
}

/** detkit's Faster R-CNN loss parts and torchvision's names for them. */
export const FASTER_RCNN_LOSS_PARTS: ReadonlyArray<[keyof FasterRcnnLoss, string]> = [
  ['lossObjectness', 'loss_objectness'],
  ['lossRpnBoxReg', 'loss_rpn_box_reg'],
  ['lossClassifier', 'loss_classifier'],
  ['lossBoxReg', 'loss_box_reg'],
];

/** The issue's bar for training-mode loss parts against torchvision's, relative. */
export const LOSS_BAR = 1e-4;

/**
 * The fixture's two images (`input.0`, `input.1`) resized to 320 x 320, as detkit's loader gives them
 * (ImageNet-normalised), and as [0, 1] pixels.
 */
export function loaderBatch(outputs: SafetensorsFile): { normalised: tf.Tensor4D; pixels: tf.Tensor4D } {
  return tf.tidy(() => {
    const pixels = tf.stack([0, 1].map((i) => tf.image.resizeBilinear(fixtureTensor(outputs, `input.${i}`) as tf.Tensor3D, [320, 320]))) as tf.Tensor4D;
    const { mean, std } = IMAGENET_NORMALIZATION;
    return { pixels, normalised: tf.div(tf.sub(pixels, tf.tensor1d([...mean])), tf.tensor1d([...std])) as tf.Tensor4D };
  });
}

/** The model artifacts @detkit/models' `saveDetector` writes for `detector` (kept in memory). */
export async function savedArtifacts(detector: unknown): Promise<tf.io.ModelArtifacts> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await saveDetector(
    detector as never,
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
  return artifacts!;
}

/** lowbias32 (Chris Wellons' integer hash) in uint32 arithmetic, as tooling/fixtures/groups/torchvision_resnet.py's mix32. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** 32-bit FNV-1a of an ASCII name. */
function fnv1a(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * The formula weights of tooling/fixtures/groups/torchvision_resnet.py for one entry, in torch's row-major
 * order: element i is float32(lo + (hi - lo) · (mix32(mix32(i) ^ fnv1a(name)) >> 8) / 2^24), computed in
 * float64 as numpy does, so both sides hold the same bits.
 */
export function formulaValues(name: string, size: number, [lo, hi]: readonly [number, number]): Float32Array {
  const seed = fnv1a(name);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = lo + (hi - lo) * ((mix32(mix32(i) ^ seed) >>> 8) / 16777216);
  return out;
}

/**
 * A model's whole state dict filled with the generator's formula weights (`ranges`: its `formula_ranges`
 * metadata, [lo, hi] per entry; `num_batches_tracked` counters 0), as safetensors for `loadStateDict`.
 */
export function formulaStateDict(params: TorchParameters, ranges: Readonly<Record<string, readonly [number, number]>>): Uint8Array {
  const specs = new Map(params.specs().map((s) => [s.name, s]));
  const out = new Map<string, SafetensorsInput>();
  for (const name of params.names()) {
    const spec = specs.get(name);
    if (spec === undefined) {
      out.set(name, { dtype: 'I64', shape: [], data: new BigInt64Array(1) });
      continue;
    }
    const range = ranges[name];
    if (range === undefined) throw new Error(`the fixture has no formula range for '${name}'`);
    out.set(name, { dtype: 'F32', shape: spec.torchShape, data: formulaValues(name, spec.torchShape.reduce((a, b) => a * b, 1), range) });
  }
  return writeSafetensors(out);
}
