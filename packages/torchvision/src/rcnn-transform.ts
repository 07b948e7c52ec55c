import { InvalidArgumentError, integerOption, numberOption, runTypedArrayKernel, tf, type TypedArrayKernel } from '@detkit/core';
import { channelTriple, imageList } from './internal';
import type { TensorInput } from '@detkit/core';
import { RESIZE_BILINEAR_KERNEL } from './kernel-names';

interface ResizeAttrs {
  height: number;
  width: number;
}

/**
 * Source rows (or columns) and weights of torch's CPU bilinear resize (align_corners=False) for every
 * output index: `src = max(0, scale · (o + 0.5) - 0.5)` with scale = float32(in / out) and the rest in
 * double, `λ1 = float32(src - floor(src))`, `λ0 = float32(1 - λ1)` (matched to torch 1.13's output on 1-D
 * resizes bit for bit).
 */
function linearTaps(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; l0: Float32Array; l1: Float32Array } {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const l0 = new Float32Array(outSize);
  const l1 = new Float32Array(outSize);
  const scale = Math.fround(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    if (inSize === outSize) {
      i0[o] = o;
      i1[o] = o;
      l0[o] = 1;
      continue;
    }
    const src = Math.max(0, scale * (o + 0.5) - 0.5);
    const a = Math.trunc(src);
    i0[o] = a;
    i1[o] = a + (a < inSize - 1 ? 1 : 0);
    l1[o] = Math.min(Math.max(src - a, 0), 1);
    l0[o] = 1 - (l1[o] as number);
  }
  return { i0, i1, l0, l1 };
}

/**
 * torch's CPU `upsample_bilinear2d` (align_corners=False, no antialiasing) of one Tensor[H, W, C] image:
 * torch's weights, each output `(x00·w0 + x01·w1)·h0 + (x10·w0 + x11·w1)·h1` rounded once to float32
 * (within one float32 ulp of torch's). tfjs' resizeBilinear derives its weights in float32 (off by up to
 * 1e-4 relative on some pixels on wasm), which a deep network amplifies into the detections.
 */
const torchBilinearKernel: TypedArrayKernel<ResizeAttrs> = {
  kernelName: RESIZE_BILINEAR_KERNEL,
  inputNames: ['image'],
  compute([image], a, ctx) {
    const [h, w, c] = image!.shape as [number, number, number];
    const out = ctx.output([a.height, a.width, c], 'float32');
    const x = image!.values; // after the allocation, which may move wasm's heap
    const y = out.values;
    const rows = linearTaps(h, a.height);
    const cols = linearTaps(w, a.width);
    let o = 0;
    for (let r = 0; r < a.height; r++) {
      const top = (rows.i0[r] as number) * w;
      const bottom = (rows.i1[r] as number) * w;
      const h0 = rows.l0[r] as number;
      const h1 = rows.l1[r] as number;
      for (let q = 0; q < a.width; q++) {
        const left = cols.i0[q] as number;
        const right = cols.i1[q] as number;
        const w0 = cols.l0[q] as number;
        const w1 = cols.l1[q] as number;
        for (let k = 0; k < c; k++) {
          const t0 = (x[(top + left) * c + k] as number) * w0 + (x[(top + right) * c + k] as number) * w1;
          const t1 = (x[(bottom + left) * c + k] as number) * w0 + (x[(bottom + right) * c + k] as number) * w1;
          y[o++] = t0 * h0 + t1 * h1;
        }
      }
    }
    return [out];
  },
};

/** Options of {@link generalizedRcnnTransform}: torchvision `GeneralizedRCNNTransform`'s arguments. */
export interface RcnnTransformOptions {
  /** Target length of the shorter side (eval mode: torchvision uses the last of `min_size`). */
  minSize: number;
  /** Longest side allowed after resizing. */
  maxSize: number;
  /** Per-channel mean subtracted from [0, 1] RGB images. */
  imageMean: readonly number[];
  /** Per-channel divisor. */
  imageStd: readonly number[];
  /** The batch is padded (bottom and right, zeros) to a multiple of this. Default 32. */
  sizeDivisible?: number;
}

/** A transformed batch (torchvision's `ImageList`). */
export interface RcnnImageList {
  /** Tensor[N, H, W, 3], normalised, resized, zero-padded to a multiple of `sizeDivisible`. */
  batch: tf.Tensor4D;
  /** `[height, width]` of each resized image before padding (`image_sizes`). */
  imageSizes: Array<[number, number]>;
  /** `[height, width]` of each input image. */
  originalSizes: Array<[number, number]>;
}

/** torchvision's GeneralizedRCNNTransform in eval mode, made by {@link generalizedRcnnTransform}. */
export interface RcnnTransform {
  /**
   * The size torchvision resizes an `[height, width]` image to: scale = min(minSize / min(h, w), maxSize /
   * max(h, w)) in float32 (as torch computes it: minSize · (1 / min(h, w))), then `floor(side · scale)`
   * (F.interpolate with `recompute_scale_factor=True`). E.g. 96 x 128 → 320 x 426 with 320 / 640.
   */
  resizedSize(height: number, width: number): [number, number];
  /**
   * Normalise each image, resize it bilinearly as torch's CPU kernel does (half-pixel centres,
   * `align_corners=False`, no antialiasing, the same float32 operations), pad the batch. Inference only:
   * no gradient flows to the images.
   * @param images - Tensor[H, W, 3] images (float32 RGB in [0, 1]), a list of them, or Tensor[N, H, W, 3].
   */
  apply(images: TensorInput | readonly TensorInput[]): RcnnImageList;
  /**
   * `GeneralizedRCNNTransform.postprocess`'s `resize_boxes`: xyxy boxes Tensor[D, 4] from the resized
   * image's pixels to the original's (x by originalWidth / width, y by originalHeight / height, float32).
   */
  postprocessBoxes(boxes: tf.Tensor2D, imageSize: readonly [number, number], originalSize: readonly [number, number]): tf.Tensor2D;
}

/**
 * torchvision 0.14's `GeneralizedRCNNTransform(min_size, max_size, image_mean, image_std, size_divisible=32)`
 * in eval mode (no targets): the input side of torchvision's Faster R-CNN models.
 */
export function generalizedRcnnTransform(options: RcnnTransformOptions): RcnnTransform {
  const op = 'generalizedRcnnTransform';
  const minSize = numberOption(op, 'minSize', options.minSize, { min: 1 });
  const maxSize = numberOption(op, 'maxSize', options.maxSize, { min: 1 });
  const mean = channelTriple(op, 'imageMean', options.imageMean, false);
  const std = channelTriple(op, 'imageStd', options.imageStd, true);
  const divisible = integerOption(op, 'sizeDivisible', options.sizeDivisible ?? 32, { min: 1 });
  const resizedSize = (height: number, width: number): [number, number] => {
    const small = Math.fround(Math.min(height, width));
    const large = Math.fround(Math.max(height, width));
    // `self_min_size / min_size` with a float32 tensor is torch's `__rtruediv__`: reciprocal, then multiply.
    const scale = Math.min(Math.fround(Math.fround(1 / small) * Math.fround(minSize)), Math.fround(Math.fround(1 / large) * Math.fround(maxSize)));
    const size: [number, number] = [Math.floor(height * scale), Math.floor(width * scale)];
    if (size[0] < 1 || size[1] < 1) throw new InvalidArgumentError(op, 'images', `an image of ${height} x ${width} would be resized to ${size[0]} x ${size[1]}`);
    return size;
  };
  const apply = (images: TensorInput | readonly TensorInput[]): RcnnImageList => {
    let originalSizes: Array<[number, number]> = [];
    let imageSizes: Array<[number, number]> = [];
    const batch = tf.tidy(() => {
      const list = imageList(op, images);
      originalSizes = list.map((im) => [im.shape[0], im.shape[1]] as [number, number]);
      imageSizes = originalSizes.map(([h, w]) => resizedSize(h, w));
      const padH = Math.ceil(Math.max(...imageSizes.map((s) => s[0])) / divisible) * divisible;
      const padW = Math.ceil(Math.max(...imageSizes.map((s) => s[1])) / divisible) * divisible;
      const m = tf.tensor1d(mean);
      const s = tf.tensor1d(std);
      return tf.stack(
        list.map((im, i) => {
          const [h, w] = imageSizes[i]!;
          const normalised = tf.div(tf.sub(tf.cast(im, 'float32'), m), s) as tf.Tensor3D;
          const [resized] = runTypedArrayKernel(torchBilinearKernel, [normalised], { height: h, width: w }) as [tf.Tensor3D];
          return tf.pad(resized, [[0, padH - h], [0, padW - w], [0, 0]]);
        }),
      ) as tf.Tensor4D;
    });
    return { batch, imageSizes, originalSizes };
  };
  const postprocessBoxes = (boxes: tf.Tensor2D, imageSize: readonly [number, number], originalSize: readonly [number, number]): tf.Tensor2D =>
    tf.tidy(() => {
      const rh = Math.fround(Math.fround(originalSize[0]) / Math.fround(imageSize[0]));
      const rw = Math.fround(Math.fround(originalSize[1]) / Math.fround(imageSize[1]));
      return tf.mul(boxes, tf.tensor1d([rw, rh, rw, rh])) as tf.Tensor2D;
    });
  return { resizedSize, apply, postprocessBoxes };
}
