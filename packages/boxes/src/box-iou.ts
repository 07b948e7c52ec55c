import { ShapeError, callWasmKernel, numberOption, hasFusedKernel, runTypedArrayKernel, tf, type TensorInput, type TypedArrayKernel } from '@detkit/core';
import { safeAtan2, safeDiv, xyxyInput } from './internal';
import { boxesWasm } from './wasm';
import { PAIRWISE_IOU_KERNEL } from './kernel-names';

/** The members of the IoU family. */
export type IouKind = 'iou' | 'giou' | 'diou' | 'ciou';

/** Options of the distance and complete IoU variants. */
export interface DistanceIouOptions {
  /** Added to the enclosing box's squared diagonal (and CIoU's alpha denominator). Default 1e-7, as torchvision. */
  eps?: number;
}

const DEFAULT_EPS = 1e-7;
/** 4 / pi^2, CIoU's aspect-ratio consistency scale (Zheng et al. 2020). */
const CIOU_V_SCALE = 4 / (Math.PI * Math.PI);

const f32 = Math.fround;

interface IouAttrs {
  kind: IouKind;
  eps: number;
}

/**
 * Pairwise IoU family over typed arrays, one pass over the [N, M] matrix. Plain IoU runs in the SIMD wasm
 * kernel `boxIou` (float32, as torchvision). GIoU, DIoU and CIoU run here: the M boxes of `b` are held in
 * local Float64Arrays with their areas and aspect angles, so the inner loop touches one output row.
 * Areas, intersection, union and hull are rounded to float32 as torchvision computes them, so the
 * degenerate cases (a product that underflows to 0) agree with the float32 IoU kernel.
 */
const pairwiseIouKernel: TypedArrayKernel<IouAttrs> = {
  kernelName: PAIRWISE_IOU_KERNEL,
  inputNames: ['boxes1', 'boxes2'],
  compute([a, b], { kind, eps }, ctx) {
    const n = a!.shape[0] as number;
    const m = b!.shape[0] as number;
    const out = ctx.output([n, m], 'float32');
    if (kind === 'iou') {
      callWasmKernel(boxesWasm, ctx, { inputs: [a!.values, b!.values], outputs: [out.values], scratchBytes: 20 * (m + 3) }, (wasm, p) =>
        wasm.boxIou(p.inputs[0]!, n, p.inputs[1]!, m, p.outputs[0]!, p.scratch),
      );
      return [out];
    }
    const o = out.values;
    const av = a!.values;
    const bv = b!.values;
    const bx1 = new Float64Array(m), by1 = new Float64Array(m), bx2 = new Float64Array(m), by2 = new Float64Array(m);
    const bArea = new Float64Array(m), bAngle = new Float64Array(m);
    for (let j = 0; j < m; j++) {
      bx1[j] = bv[4 * j] as number;
      by1[j] = bv[4 * j + 1] as number;
      bx2[j] = bv[4 * j + 2] as number;
      by2[j] = bv[4 * j + 3] as number;
      bArea[j] = f32(f32(bx2[j]! - bx1[j]!) * f32(by2[j]! - by1[j]!));
      bAngle[j] = Math.atan2(bx2[j]! - bx1[j]!, Math.abs(by2[j]! - by1[j]!)); // abs: a height of -0 (y1 = 0, y2 = -0) would give pi
    }
    for (let i = 0; i < n; i++) {
      const ax1 = av[4 * i] as number, ay1 = av[4 * i + 1] as number, ax2 = av[4 * i + 2] as number, ay2 = av[4 * i + 3] as number;
      const aArea = f32(f32(ax2 - ax1) * f32(ay2 - ay1));
      const row = i * m;
      const aAngle = Math.atan2(ax2 - ax1, Math.abs(ay2 - ay1));
      const acx = (ax1 + ax2) / 2, acy = (ay1 + ay2) / 2;
      for (let j = 0; j < m; j++) {
        const iw = f32(Math.min(ax2, bx2[j]!) - Math.max(ax1, bx1[j]!));
        const ih = f32(Math.min(ay2, by2[j]!) - Math.max(ay1, by1[j]!));
        const inter = iw > 0 && ih > 0 ? f32(iw * ih) : 0;
        const union = f32(f32(aArea + bArea[j]!) - inter);
        const iou = union > 0 ? inter / union : 0;
        // Smallest enclosing box.
        const cw = Math.max(0, Math.max(ax2, bx2[j]!) - Math.min(ax1, bx1[j]!));
        const ch = Math.max(0, Math.max(ay2, by2[j]!) - Math.min(ay1, by1[j]!));
        if (kind === 'giou') {
          const hull = f32(f32(cw) * f32(ch));
          o[row + j] = iou - (hull > 0 ? (hull - union) / hull : 0);
          continue;
        }
        const dx = acx - (bx1[j]! + bx2[j]!) / 2;
        const dy = acy - (by1[j]! + by2[j]!) / 2;
        const diou = iou - (dx * dx + dy * dy) / (cw * cw + ch * ch + eps);
        if (kind === 'diou') {
          o[row + j] = diou;
          continue;
        }
        const dAngle = aAngle - bAngle[j]!;
        const v = CIOU_V_SCALE * dAngle * dAngle;
        const alpha = v / (1 - iou + v + eps);
        o[row + j] = diou - alpha * v;
      }
    }
    return [out];
  },
};

/** stop_gradient: the value of x, a zero gradient (CIoU's alpha is computed under torch.no_grad()). */
const stopGradient = tf.customGrad((...inputs) => ({
  value: tf.clone(inputs[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
}));

/**
 * The IoU family as tfjs ops over broadcastable coordinate tensors (x1a: [N, 1] with x1b: [1, M] for the
 * pairwise matrix, or [N] with [N] for aligned pairs). Same formulas as the kernel; differentiable.
 */
function iouFamilyOps(kind: IouKind, a: tf.Tensor, b: tf.Tensor, pairwise: boolean, eps: number): tf.Tensor {
  const split = (t: tf.Tensor, axis: 0 | 1) => {
    const cols = tf.unstack(t, 1);
    return cols.map((c) => (pairwise ? tf.expandDims(c, axis === 0 ? 1 : 0) : c)) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  };
  const [ax1, ay1, ax2, ay2] = split(a, 0);
  const [bx1, by1, bx2, by2] = split(b, 1);
  const aw = tf.sub(ax2, ax1), ah = tf.sub(ay2, ay1), bw = tf.sub(bx2, bx1), bh = tf.sub(by2, by1);
  const iw = tf.relu(tf.sub(tf.minimum(ax2, bx2), tf.maximum(ax1, bx1)));
  const ih = tf.relu(tf.sub(tf.minimum(ay2, by2), tf.maximum(ay1, by1)));
  const inter = tf.mul(iw, ih);
  const union = tf.sub(tf.add(tf.mul(aw, ah), tf.mul(bw, bh)), inter);
  const iou = safeDiv(inter, union);
  if (kind === 'iou') return iou;
  const cw = tf.relu(tf.sub(tf.maximum(ax2, bx2), tf.minimum(ax1, bx1)));
  const ch = tf.relu(tf.sub(tf.maximum(ay2, by2), tf.minimum(ay1, by1)));
  if (kind === 'giou') {
    const hull = tf.mul(cw, ch);
    return tf.sub(iou, safeDiv(tf.sub(hull, union), hull));
  }
  const dx = tf.sub(tf.div(tf.add(ax1, ax2), 2), tf.div(tf.add(bx1, bx2), 2));
  const dy = tf.sub(tf.div(tf.add(ay1, ay2), 2), tf.div(tf.add(by1, by2), 2));
  const diag = tf.add(tf.add(tf.square(cw), tf.square(ch)), eps);
  const diou = tf.sub(iou, tf.div(tf.add(tf.square(dx), tf.square(dy)), diag));
  if (kind === 'diou') return diou;
  // atan2(w, h) equals torchvision's atan(w / h) for h > 0, and is 0 rather than NaN for a 0 x 0 box;
  // |h| because a height of -0 (y1 = 0, y2 = -0 passes the y2 >= y1 check) would give atan2(0, -0) = pi.
  const v = tf.mul(CIOU_V_SCALE, tf.square(tf.sub(safeAtan2(aw, tf.abs(ah)) as tf.Tensor, safeAtan2(bw, tf.abs(bh)) as tf.Tensor)));
  const alpha = stopGradient(tf.div(v, tf.add(tf.sub(1, iou), tf.add(v, eps)))) as tf.Tensor;
  return tf.sub(diou, tf.mul(alpha, v));
}

function checkEps(op: string, options: DistanceIouOptions): number {
  return numberOption(op, 'eps', options.eps ?? DEFAULT_EPS, { min: 0 });
}

function pairwise(op: string, kind: IouKind, boxes1: TensorInput, boxes2: TensorInput, eps: number): tf.Tensor2D {
  return tf.tidy(() => {
    const a = xyxyInput(op, 'boxes1', boxes1, { rank2: true });
    const b = xyxyInput(op, 'boxes2', boxes2, { rank2: true });
    if (hasFusedKernel(pairwiseIouKernel)) return runTypedArrayKernel(pairwiseIouKernel, [a, b], { kind, eps })[0] as tf.Tensor2D;
    return iouFamilyOps(kind, a, b, true, eps) as tf.Tensor2D;
  });
}

function aligned(op: string, kind: IouKind, boxes1: TensorInput, boxes2: TensorInput, eps: number): tf.Tensor1D {
  return tf.tidy(() => {
    const a = xyxyInput(op, 'boxes1', boxes1, { rank2: true });
    const b = xyxyInput(op, 'boxes2', boxes2, { rank2: true });
    if (a.shape[0] !== b.shape[0]) throw new ShapeError(op, 'boxes2', `[${a.shape[0]}, 4] (one per box of boxes1)`, b.shape);
    return iouFamilyOps(kind, a, b, false, eps) as tf.Tensor1D;
  });
}

/**
 * Pairwise intersection over union; matches `torchvision.ops.box_iou`.
 *
 * Deliberate difference: two zero-area boxes (union 0) give 0, where torchvision gives NaN (0 / 0).
 * On cpu and wasm (and on webgpu with @detkit/backends' WGSL kernel) this runs as one fused kernel (no gradient: use {@link alignedBoxIou} in losses).
 *
 * @param boxes1 - Tensor[N, 4], float32, xyxy with x2 >= x1, y2 >= y1.
 * @param boxes2 - Tensor[M, 4], float32, xyxy.
 * @returns Tensor[N, M], float32, IoU in [0, 1].
 */
export function boxIou(boxes1: TensorInput, boxes2: TensorInput): tf.Tensor2D {
  return pairwise('boxIou', 'iou', boxes1, boxes2, 0);
}

/**
 * Pairwise generalized IoU (Rezatofighi et al. 2019): IoU - (C - U) / C with C the smallest enclosing
 * box's area; matches `torchvision.ops.generalized_box_iou`. Two boxes whose enclosing box has zero area
 * give 0 (torchvision: NaN).
 *
 * @param boxes1 - Tensor[N, 4], float32, xyxy.
 * @param boxes2 - Tensor[M, 4], float32, xyxy.
 * @returns Tensor[N, M], float32, in [-1, 1].
 */
export function generalizedBoxIou(boxes1: TensorInput, boxes2: TensorInput): tf.Tensor2D {
  return pairwise('generalizedBoxIou', 'giou', boxes1, boxes2, 0);
}

/**
 * Pairwise distance IoU (Zheng et al. 2020): IoU - d^2 / (c^2 + eps), d the distance between centres and
 * c the enclosing box's diagonal; matches `torchvision.ops.distance_box_iou`.
 *
 * @param boxes1 - Tensor[N, 4], float32, xyxy.
 * @param boxes2 - Tensor[M, 4], float32, xyxy.
 * @returns Tensor[N, M], float32, in [-1, 1].
 */
export function distanceBoxIou(boxes1: TensorInput, boxes2: TensorInput, options: DistanceIouOptions = {}): tf.Tensor2D {
  return pairwise('distanceBoxIou', 'diou', boxes1, boxes2, checkEps('distanceBoxIou', options));
}

/**
 * Pairwise complete IoU (Zheng et al. 2020): DIoU - alpha v, v = 4/pi^2 (atan(w1/h1) - atan(w2/h2))^2,
 * alpha = v / (1 - IoU + v + eps); matches `torchvision.ops.complete_box_iou`. Aspect angles use atan2(w, h),
 * equal to atan(w / h) except that a 0 x 0 box gives 0 instead of NaN.
 *
 * @param boxes1 - Tensor[N, 4], float32, xyxy.
 * @param boxes2 - Tensor[M, 4], float32, xyxy.
 * @returns Tensor[N, M], float32.
 */
export function completeBoxIou(boxes1: TensorInput, boxes2: TensorInput, options: DistanceIouOptions = {}): tf.Tensor2D {
  return pairwise('completeBoxIou', 'ciou', boxes1, boxes2, checkEps('completeBoxIou', options));
}

/**
 * IoU of aligned pairs: element i compares boxes1[i] with boxes2[i] (the diagonal of {@link boxIou}).
 * Differentiable: the form losses use. The aligned family keeps its gradients finite everywhere: a union
 * (or GIoU's enclosing area) of at most 1e-18 counts as empty, giving 0 where the pairwise kernels divide
 * (a box with sides of 1e-9 pixels), and CIoU's aspect angles have a closed-form gradient that is 0 at a
 * 0 x 0 box.
 *
 * @param boxes1 - Tensor[N, 4], float32, xyxy.
 * @param boxes2 - Tensor[N, 4], float32, xyxy.
 * @returns Tensor[N], float32.
 */
export function alignedBoxIou(boxes1: TensorInput, boxes2: TensorInput): tf.Tensor1D {
  return aligned('alignedBoxIou', 'iou', boxes1, boxes2, 0);
}

/** Generalized IoU of aligned pairs (the diagonal of {@link generalizedBoxIou}); differentiable. Tensor[N]. */
export function alignedGeneralizedBoxIou(boxes1: TensorInput, boxes2: TensorInput): tf.Tensor1D {
  return aligned('alignedGeneralizedBoxIou', 'giou', boxes1, boxes2, 0);
}

/** Distance IoU of aligned pairs (the diagonal of {@link distanceBoxIou}); differentiable. Tensor[N]. */
export function alignedDistanceBoxIou(boxes1: TensorInput, boxes2: TensorInput, options: DistanceIouOptions = {}): tf.Tensor1D {
  return aligned('alignedDistanceBoxIou', 'diou', boxes1, boxes2, checkEps('alignedDistanceBoxIou', options));
}

/**
 * Complete IoU of aligned pairs (the diagonal of {@link completeBoxIou}); differentiable, with alpha
 * treated as a constant as torchvision does (computed under no_grad). Tensor[N].
 */
export function alignedCompleteBoxIou(boxes1: TensorInput, boxes2: TensorInput, options: DistanceIouOptions = {}): tf.Tensor1D {
  return aligned('alignedCompleteBoxIou', 'ciou', boxes1, boxes2, checkEps('alignedCompleteBoxIou', options));
}

/** @internal The op-composition path, exported for the backend conformance tests; checks its boxes as {@link boxIou}. */
export function pairwiseIouOps(kind: IouKind, boxes1: tf.Tensor2D, boxes2: tf.Tensor2D, eps = kind === 'diou' || kind === 'ciou' ? DEFAULT_EPS : 0): tf.Tensor2D {
  const op = 'pairwiseIouOps';
  return tf.tidy(() => iouFamilyOps(kind, xyxyInput(op, 'boxes1', boxes1, { rank2: true }), xyxyInput(op, 'boxes2', boxes2, { rank2: true }), true, eps) as tf.Tensor2D);
}
