import { InvalidArgumentError, ShapeError, booleanOption, integerOption, numberOption, peekValues, tf, type TensorInput } from '@detkit/core';
import { boxesInput, featuresInput, gridSize, imageIndexInput, imageSizesOption } from './internal';
import { roiAlign } from './roi-align';

/**
 * FPN's canonical box size and level (Lin et al. 2017, eq. 1): a 224 x 224 box (ImageNet's input size)
 * pools from level 4 (stride 16); torchvision's `MultiScaleRoIAlign` defaults.
 */
const FPN_CANONICAL_SCALE = 224;
const FPN_CANONICAL_LEVEL = 4;
/** torchvision's LevelMapper adds 1e-6 before the floor, so a box of exactly 224 * 2^k px side lands on level 4 + k. */
const LEVEL_EPS = Math.fround(1e-6);

/** Options of {@link multiScaleRoiAlign}. */
export interface MultiScaleRoiAlignOptions {
  /**
   * `[height, width]` of the (padded) input image, or one per image: the largest height and width are used,
   * as torchvision's `image_shapes`. Required: the levels' scales are inferred from it.
   */
  imageSizes: readonly [number, number] | ReadonlyArray<readonly [number, number]>;
  /** Output bins `[height, width]` (or one number for both). Default 7 (torchvision's Faster R-CNN FPN). */
  outputSize?: number | readonly [number, number];
  /** Sample points per bin side, as {@link roiAlign}'s. Default 2, as torchvision's Faster R-CNN FPN. */
  samplingRatio?: number;
  /** {@link roiAlign}'s `aligned`. Default `false`, as torchvision's `MultiScaleRoIAlign` (it never sets it). */
  aligned?: boolean;
  /** Box side (sqrt of the area, image pixels) that maps to `canonicalLevel`. Default 224. */
  canonicalScale?: number;
  /** Pyramid level (log2 of the stride) of a `canonicalScale` box. Default 4. */
  canonicalLevel?: number;
}

/** Round half to even (torch.round), of a float32 value. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * torchvision's `_infer_scale`: log2 of a level's scale, `round(log2(featureHeight / imageHeight))` in
 * float32 (half to even), so the scale is `2 ** exponent`. Only the heights count, as in torchvision.
 */
function scaleExponent(featureHeight: number, imageHeight: number): number {
  return roundHalfEven(Math.fround(Math.log2(Math.fround(featureHeight / imageHeight))));
}

/**
 * torchvision's `LevelMapper` (FPN eq. 1) in float32: `floor(canonicalLevel + log2(sqrt(area) /
 * canonicalScale) + 1e-6)` clamped to `[kMin, kMax]`, minus `kMin` (an index into the levels).
 */
function levelIndex(x1: number, y1: number, x2: number, y2: number, s0: number, k0: number, kMin: number, kMax: number): number {
  const area = Math.fround(Math.fround(x2 - x1) * Math.fround(y2 - y1));
  const s = Math.fround(Math.sqrt(area));
  const target = Math.floor(Math.fround(Math.fround(k0 + Math.fround(Math.log2(Math.fround(s / s0)))) + LEVEL_EPS));
  // NaN (only when value checks are off) goes to the lowest level.
  return Math.min(Math.max(Number.isNaN(target) ? kMin : target, kMin), kMax) - kMin;
}

/**
 * Feature-pyramid RoIAlign (Lin et al. 2017, Feature Pyramid Networks, eq. 1): pools every box from one
 * level of a pyramid chosen by its size, with {@link roiAlign}; matches `torchvision.ops.MultiScaleRoIAlign`
 * (`forward(x, boxes, image_shapes)`, torchvision 0.14; values and the gradients with respect to every
 * level, within 1e-5).
 *
 * - **Scales**: level `i`'s scale is inferred as torchvision's `_infer_scale`:
 *   `2 ** round(log2(H_i / imageHeight))` (float32, half to even; `imageHeight` the largest of `imageSizes`),
 *   e.g. 1/4 .. 1/32 for the strides 4 .. 32 of P2 .. P5. The levels must be consecutive halvings
 *   (scale_i = scale_0 / 2^i), which torchvision assumes without checking.
 * - **Level of a box**: torchvision's `LevelMapper` with `k0 = canonicalLevel` (4), `s0 = canonicalScale`
 *   (224) and eps 1e-6: `floor(k0 + log2(sqrt(area) / s0) + eps)` (float32), clamped to
 *   `[kMin, kMax] = [-log2(scale_0), -log2(scale_last)]`. With P2 .. P5: side < 112 px → P2,
 *   [112, 224) → P3, [224, 448) → P4, >= 448 → P5.
 * - **Pooling**: {@link roiAlign} on each level with its boxes (`spatialScale` = the level's scale), and the
 *   results put back in the boxes' order. One level is `roiAlign` on it, as in torchvision.
 *
 * Differentiable with respect to every level (roiAlign's fused gradient; the reordering's gradient is a
 * gather of the upstream gradient by each level's box indices, so no scatter-add kernel is needed on any
 * backend). No gradient with respect to the boxes, as in torchvision.
 *
 * @param features - Tensor[B, H_i, W_i, C][], float32, NHWC: one map per pyramid level, finest first
 *   (torchvision's `featmap_names` order, NCHW there); same B and C on every level.
 * @param boxes - Tensor[K, 4], float32, xyxy in image pixels (x2 >= x1, y2 >= y1, finite), in any image order.
 * @param boxImageIndex - Tensor[K], int32: each box's image (0..B-1). torchvision takes a list of per-image
 *   boxes; their concatenation with its image indices gives the same rows here.
 * @param options - `imageSizes` (required), `outputSize` 7, `samplingRatio` 2, `aligned` false,
 *   `canonicalScale` 224, `canonicalLevel` 4.
 * @returns Tensor[K, PH, PW, C], float32, row k pooled for box k (torchvision's `[K, C, PH, PW]`
 *   transposed). K = 0 gives `[0, PH, PW, C]`.
 */
export function multiScaleRoiAlign(
  features: readonly TensorInput[],
  boxes: TensorInput,
  boxImageIndex: TensorInput,
  options: MultiScaleRoiAlignOptions,
): tf.Tensor4D {
  const op = 'multiScaleRoiAlign';
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object with imageSizes');
  const [pooledH, pooledW] = gridSize(op, 'outputSize', options.outputSize ?? 7);
  const samplingRatio = integerOption(op, 'samplingRatio', options.samplingRatio ?? 2);
  const aligned = booleanOption(op, 'aligned', options.aligned ?? false);
  const s0 = Math.fround(numberOption(op, 'canonicalScale', options.canonicalScale ?? FPN_CANONICAL_SCALE, { min: 0, minExclusive: true }));
  const k0 = integerOption(op, 'canonicalLevel', options.canonicalLevel ?? FPN_CANONICAL_LEVEL);
  if (!Array.isArray(features) || features.length === 0) {
    throw new InvalidArgumentError(op, 'features', 'must be a non-empty list of NHWC feature maps, one per pyramid level');
  }
  const roiOptions = (scale: number) => ({ outputSize: [pooledH, pooledW] as [number, number], spatialScale: scale, samplingRatio, aligned });

  return tf.tidy(() => {
    const maps = features.map((f, i) => featuresInput(op, `features[${i}]`, f));
    const [batch, , , channels] = maps[0]!.shape;
    maps.forEach((m, i) => {
      if (m.shape[0] !== batch || m.shape[3] !== channels) throw new ShapeError(op, `features[${i}]`, `[${batch}, H, W, ${channels}] (as features[0])`, m.shape);
    });
    const b = boxesInput(op, 'boxes', boxes);
    const k = b.shape[0];
    const idx = imageIndexInput(op, 'boxImageIndex', boxImageIndex, k, batch);
    const sizes = imageSizesOption(op, 'imageSizes', options.imageSizes, Math.max(batch, 1));
    const imageHeight = Math.max(...sizes.map((s) => s[0]));
    if (!(imageHeight > 0)) throw new InvalidArgumentError(op, 'imageSizes', `must have a height > 0, got ${JSON.stringify(options.imageSizes)}`);

    const exponents = maps.map((m) => scaleExponent(m.shape[1], imageHeight));
    exponents.forEach((e, i) => {
      if (!Number.isFinite(e) || e !== exponents[0]! - i) {
        throw new InvalidArgumentError(
          op,
          `features[${i}]`,
          `must have scale 2^${exponents[0]! - i} (each level half the previous one), got height ${maps[i]!.shape[1]} for an image height of ${imageHeight} (scale 2^${e})`,
        );
      }
    });
    if (maps.length === 1) return roiAlign(maps[0]!, b, idx, roiOptions(2 ** exponents[0]!));

    // Level of every box, then each level's boxes in their original order (torch.where's).
    const kMin = -exponents[0]!;
    const kMax = -exponents[exponents.length - 1]!;
    const v = peekValues(b);
    const images = peekValues(idx);
    const members: number[][] = maps.map(() => []);
    for (let i = 0; i < k; i++) {
      const o = 4 * i;
      members[levelIndex(v[o] as number, v[o + 1] as number, v[o + 2] as number, v[o + 3] as number, s0, k0, kMin, kMax)]!.push(i);
    }
    const pooled = maps.map((m, l) => {
      const rows = members[l]!;
      const levelBoxes = new Float32Array(rows.length * 4);
      const levelImages = new Int32Array(rows.length);
      rows.forEach((r, j) => {
        for (let c = 0; c < 4; c++) levelBoxes[4 * j + c] = v[4 * r + c] as number;
        levelImages[j] = images[r] as number;
      });
      return roiAlign(m, tf.tensor2d(levelBoxes, [rows.length, 4]), tf.tensor1d(levelImages, 'int32'), roiOptions(2 ** exponents[l]!));
    });

    // Back to the boxes' order: out[r] = concat(pooled)[position of r]. Its gradient for level l is the
    // upstream gradient's rows of that level's boxes.
    const position = new Int32Array(k);
    let at = 0;
    for (const rows of members) for (const r of rows) position[r] = at++;
    const reorder = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const save = args.pop() as tf.GradSaveFunc;
      const levels = args as tf.Tensor[];
      const picks = members.map((rows) => tf.tensor1d(Int32Array.from(rows), 'int32'));
      save(picks);
      const nonEmpty = levels.filter((t) => t.shape[0]! > 0);
      const value = k === 0 ? tf.zeros([0, pooledH, pooledW, channels]) : tf.gather(tf.concat(nonEmpty, 0), tf.tensor1d(position, 'int32'));
      const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) =>
        saved.map((p) => (p.shape[0] === 0 ? tf.zeros([0, pooledH, pooledW, channels]) : tf.gather(dy, p)));
      return { value, gradFunc };
    });
    return reorder(...pooled) as tf.Tensor4D;
  });
}
