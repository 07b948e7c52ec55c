import { InvalidArgumentError, booleanOption, tf } from '@detkit/core';
import { DEFAULT_ANCHOR_RATIOS, type CellAnchorsOptions } from './generate-anchors';
import { anchorCount, cellAnchorValues, finiteAnchors, gridSize, imageSize as imageSizeOption, offsetOption, positiveList, resolveSizes, stridePair, writeGridAnchors } from './internal';

/** One level of a feature pyramid: its grid, its stride and the shape of its anchors. */
export interface AnchorLevel extends Omit<CellAnchorsOptions, 'round'> {
  /** `[height, width]` of the level's feature map, in cells. */
  featureSize: readonly [number, number];
  /**
   * Pixels between neighbouring cells: one number or `[strideY, strideX]`. When left out it is
   * `[floor(imageHeight / height), floor(imageWidth / width)]`, as torchvision's `AnchorGenerator.forward`
   * derives it (`imageSize` is then required).
   */
  stride?: number | readonly [number, number];
}

/** Options of {@link generateMultiLevelAnchors}. */
export interface MultiLevelAnchorsOptions {
  /** The levels, finest first (the order of the concatenated output). */
  levels: readonly AnchorLevel[];
  /** `[height, width]` of the (padded) image batch; needed only for levels without a `stride`. */
  imageSize?: readonly [number, number];
  /** Centre offset, a fraction of the stride in [0, 1); as in `generateAnchors`. Default 0. */
  offset?: number;
  /** Round the base anchors half to even, as torchvision does. Default `true`. */
  round?: boolean;
}

/** The anchors of a feature pyramid and how they split into levels. */
export interface MultiLevelAnchors {
  /** Tensor[sum(counts), 4], float32, xyxy pixels: every level's anchors, level by level. */
  anchors: tf.Tensor2D;
  /** Anchors per level, `h * w * A` (split `anchors` along axis 0 with these). */
  counts: number[];
  /** A, the anchors per location, for each level (a head's output channels are `A * 4` and `A * classes`). */
  anchorsPerLocation: number[];
  /** The `[strideY, strideX]` used for each level (given or derived from `imageSize`). */
  strides: [number, number][];
}

/**
 * Anchors for the levels of a feature pyramid, concatenated level by level; matches torchvision's
 * `AnchorGenerator.forward` with several feature maps (as in `fasterrcnn_resnet50_fpn`, one size per level:
 * `levels: [{ featureSize, sizes: [32] }, ..., { featureSize, sizes: [512] }]` and `imageSize`).
 *
 * Within a level the order is {@link generateAnchors}'s (location row-major, then ratio, then size); level
 * `l` occupies rows `sum(counts[0..l))` to `sum(counts[0..l])`. Plain typed-array arithmetic, one tensor.
 *
 * @param options - `levels` (each `featureSize`, optional `stride`, `sizes` or `scales` [+ `baseSize`],
 *   `ratios`), `imageSize` (for derived strides), `offset` (default 0), `round` (default true).
 * @returns `{ anchors: Tensor[N, 4] float32 xyxy, counts, anchorsPerLocation, strides }`.
 * @throws InvalidArgumentError naming the level and option (`levels[2].sizes`) when one is invalid.
 */
export function generateMultiLevelAnchors(options: MultiLevelAnchorsOptions): MultiLevelAnchors {
  const op = 'generateMultiLevelAnchors';
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object');
  const { levels } = options;
  if (!Array.isArray(levels)) throw new InvalidArgumentError(op, 'levels', 'must be an array of levels');
  const image = options.imageSize === undefined ? undefined : imageSizeOption(op, 'imageSize', options.imageSize);
  const offset = offsetOption(op, options.offset);
  const round = booleanOption(op, 'round', options.round, { default: true });

  const plan = levels.map((level: AnchorLevel, l) => {
    const where = `levels[${l}].`;
    if (level === null || typeof level !== 'object') throw new InvalidArgumentError(op, `levels[${l}]`, 'must be an object');
    const featureSize = gridSize(op, `${where}featureSize`, level.featureSize);
    let stride: [number, number];
    if (level.stride !== undefined) {
      stride = stridePair(op, `${where}stride`, level.stride);
    } else {
      if (image === undefined) throw new InvalidArgumentError(op, 'imageSize', `is needed to derive the stride of ${where.slice(0, -1)}, which has none`);
      // torchvision: image_size // grid_size. An empty level has no anchors, whatever its stride.
      stride = featureSize.map((g, i) => (g === 0 ? 1 : Math.floor((image[i] as number) / g))) as [number, number];
      if (stride[0] === 0 || stride[1] === 0) {
        throw new InvalidArgumentError(op, 'imageSize', `is smaller than ${where}featureSize [${featureSize.join(', ')}]: the derived stride would be 0`);
      }
    }
    const sizes = resolveSizes(op, level, stride, where);
    const ratios = positiveList(op, `${where}ratios`, level.ratios ?? DEFAULT_ANCHOR_RATIOS);
    const cell = cellAnchorValues(sizes, ratios, round);
    return { featureSize, stride, cell, count: featureSize[0] * featureSize[1] * (cell.length / 4) };
  });

  const total = anchorCount(op, 'levels', plan.reduce((n, p) => n + p.count, 0));
  const out = new Float32Array(4 * total);
  let o = 0;
  for (const p of plan) o = writeGridAnchors(out, o, p.cell, p.featureSize, p.stride, offset);
  finiteAnchors(op, 'levels', out);
  return {
    anchors: tf.tensor2d(out, [total, 4], 'float32'),
    counts: plan.map((p) => p.count),
    anchorsPerLocation: plan.map((p) => p.cell.length / 4),
    strides: plan.map((p) => p.stride),
  };
}
