import { InvalidArgumentError, booleanOption, tf } from '@detkit/core';
import { anchorCount, cellAnchorValues, finiteAnchors, gridSize, offsetOption, positiveList, resolveSizes, stridePair, writeGridAnchors } from './internal';

/** The aspect ratios (height / width) of torchvision's AnchorGenerator and of the Faster R-CNN paper. */
export const DEFAULT_ANCHOR_RATIOS: readonly number[] = Object.freeze([0.5, 1, 2]);

/** The shape of one location's anchors: sizes (or scales of a base size) and aspect ratios. */
export interface CellAnchorsOptions {
  /**
   * Anchor sizes in pixels: the side of the ratio-1 anchor, so each anchor's area is `size²` (torchvision's
   * `sizes`). Give exactly one of `sizes` and `scales`.
   */
  sizes?: readonly number[];
  /**
   * Anchor sizes as multiples of `baseSize` (the Faster R-CNN paper's and py-faster-rcnn's `anchor_scales`:
   * 8, 16, 32 on a base of 16 are the sizes 128, 256, 512). Give exactly one of `sizes` and `scales`.
   */
  scales?: readonly number[];
  /** What `scales` multiply, in pixels. Defaults to the stride (when it is the same along y and x). */
  baseSize?: number;
  /** Aspect ratios, height / width (as torchvision and the paper define them). Default `[0.5, 1, 2]`. */
  ratios?: readonly number[];
  /**
   * Round the zero-centred base anchors to integers, half to even, as torchvision's
   * `AnchorGenerator.generate_anchors` does (`base_anchors.round()`). Default `true`. The Faster R-CNN
   * walk-through does not round (`false`).
   */
  round?: boolean;
}

/** Options of {@link generateAnchors}. */
export interface GenerateAnchorsOptions extends CellAnchorsOptions {
  /** `[height, width]` of the feature map, in cells (integers >= 0). */
  featureSize: readonly [number, number];
  /** Pixels between neighbouring cells: one number, or `[strideY, strideX]`. */
  stride: number | readonly [number, number];
  /**
   * Where in its cell a location's anchors are centred, as a fraction of the stride in [0, 1): the centre
   * of cell (x, y) is `((x + offset) * strideX, (y + offset) * strideY)`. Default `0`, torchvision's
   * `AnchorGenerator` (centres at `x * stride`, the cell's top-left corner). `0.5` centres anchors in their
   * cells, as the Faster R-CNN walk-through (`ctr = 8 + 16 i` for stride 16) and detectron2's recommended
   * `offset=0.5` do.
   */
  offset?: number;
}

/**
 * The Faster R-CNN (VGG-16) anchors as the walk-through builds them: stride 16 (conv5_3), scales 8, 16, 32
 * of a 16-pixel base (sizes 128, 256, 512; the paper's 128², 256², 512² areas), ratios 0.5, 1, 2, centred
 * in their cells (`ctr = 8 + 16 i`), not rounded. On an 800 x 800 image (a 50 x 50 feature map) these are
 * the walk-through's 22,500 anchors, 8,940 of them inside the image. (py-faster-rcnn's legacy generator
 * differs slightly: centres at 7.5 + 16 i and rounded, `+1`-inclusive widths.)
 *
 * @example
 * ```ts
 * generateAnchors({ ...FASTER_RCNN_VGG16_ANCHORS, featureSize: [50, 50] }); // [22500, 4]
 * ```
 */
export const FASTER_RCNN_VGG16_ANCHORS: Readonly<Omit<GenerateAnchorsOptions, 'featureSize'>> = Object.freeze({
  stride: 16,
  scales: Object.freeze([8, 16, 32]),
  ratios: DEFAULT_ANCHOR_RATIOS,
  offset: 0.5,
  round: false,
});

/**
 * The anchors of one location, zero-centred; matches torchvision's `AnchorGenerator.generate_anchors`
 * (the module's `cell_anchors`).
 *
 * Order: ratio-major, then size: anchor `i * sizes.length + j` has ratio `ratios[i]` and size `sizes[j]`
 * (`ws = (w_ratios[:, None] * scales[None, :]).view(-1)` in torchvision).
 *
 * @param options - `sizes` (or `scales` with `baseSize`), `ratios` (height / width, default
 *   `[0.5, 1, 2]`), `round` (default `true`, torchvision's rounding half to even).
 * @returns Tensor[A, 4], float32, xyxy pixels around (0, 0), A = `ratios.length * sizes.length`.
 */
export function cellAnchors(options: CellAnchorsOptions): tf.Tensor2D {
  const op = 'cellAnchors';
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object');
  const sizes = resolveSizes(op, options);
  const ratios = positiveList(op, 'ratios', options.ratios ?? DEFAULT_ANCHOR_RATIOS);
  const round = booleanOption(op, 'round', options.round, { default: true });
  anchorCount(op, 'sizes', sizes.length * ratios.length);
  const values = finiteAnchors(op, 'options', cellAnchorValues(sizes, ratios, round));
  return tf.tensor2d(values, [values.length / 4, 4], 'float32');
}

/**
 * Anchors for every location of one feature map; matches torchvision's `AnchorGenerator` (Faster R-CNN,
 * Ren et al. 2015) with the defaults (`offset: 0`, `round: true`), and the Faster R-CNN walk-through with
 * {@link FASTER_RCNN_VGG16_ANCHORS} (`offset: 0.5`, `round: false`).
 *
 * Order, which is the order a head's outputs are flattened in (`[H, W, A]`, i.e. torchvision's
 * `permute_and_flatten` of `[N, A*C, H, W]`): location-major, row by row (y, then x), and at each location
 * the A cell anchors ratio-major, then size. Anchor `((y * W + x) * R + i) * S + j` is centred on cell
 * (x, y) with ratio `ratios[i]` and size `sizes[j]` (R ratios, S sizes).
 *
 * Anchor (x, y, i, j) is `centre + cell_ij` where `centre = ((x + offset) * strideX, (y + offset) * strideY)`
 * and `cell_ij = (-ws/2, -hs/2, ws/2, hs/2)` with `ws = size / sqrt(ratio)`, `hs = size * sqrt(ratio)`
 * (rounded when `round`), all in float32 as torchvision computes them.
 *
 * Plain typed-array arithmetic (no tfjs ops): cheap enough to call per image.
 *
 * @param options - `featureSize: [h, w]`, `stride` (number or `[strideY, strideX]`), `sizes` or `scales`
 *   (+ `baseSize`, default the stride), `ratios` (default `[0.5, 1, 2]`), `offset` (default 0), `round`
 *   (default true).
 * @returns Tensor[h * w * A, 4], float32, xyxy pixels. `[0, 4]` when the feature map is empty.
 * @throws InvalidArgumentError naming the option when one is missing or invalid, when h * w * A is more
 *   than {@link MAX_ANCHORS} (2^24; `featureSize`), or when a coordinate overflows float32 (`options`).
 */
export function generateAnchors(options: GenerateAnchorsOptions): tf.Tensor2D {
  const op = 'generateAnchors';
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object');
  const featureSize = gridSize(op, 'featureSize', options.featureSize);
  const stride = stridePair(op, 'stride', options.stride);
  const sizes = resolveSizes(op, options, stride);
  const ratios = positiveList(op, 'ratios', options.ratios ?? DEFAULT_ANCHOR_RATIOS);
  const round = booleanOption(op, 'round', options.round, { default: true });
  const offset = offsetOption(op, options.offset);
  anchorCount(op, 'featureSize', featureSize[0] * featureSize[1] * sizes.length * ratios.length);
  const cell = cellAnchorValues(sizes, ratios, round);
  const out = new Float32Array(featureSize[0] * featureSize[1] * cell.length);
  writeGridAnchors(out, 0, cell, featureSize, stride, offset);
  return tf.tensor2d(finiteAnchors(op, 'options', out), [out.length / 4, 4], 'float32');
}
