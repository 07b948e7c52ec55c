import { ShapeError, numberOption, tf, type TensorInput } from '@detkit/core';
import { floatInput, reduce, reductionOption, stopGradient, tieSplitMaximum, tieSplitMinimum, type Reduction } from './internal';

/** Options of the box IoU losses. */
export interface BoxIouLossOptions {
  /** Default `'none'`, as torchvision. */
  reduction?: Reduction;
  /** Added to the denominators (see each loss), > 0. Default 1e-7, as torchvision. */
  eps?: number;
}

const DEFAULT_EPS = 1e-7;
/** 4 / pi^2, CIoU's aspect-ratio consistency scale (Zheng et al. 2020, eq. 9). */
const CIOU_V_SCALE = 4 / (Math.PI * Math.PI);

type Kind = 'giou' | 'diou' | 'ciou';

/**
 * Below this squared length w^2 + h^2 the gradient of {@link aspectAngle} is taken as 0: h / (w^2 + h^2)
 * and w / (w^2 + h^2) would overflow float32 there (w, h < ~1e-19).
 */
const MIN_ANGLE_NORM = 1e-30;

/**
 * CIoU's atan(w / h), with torchvision's value wherever that is defined (h != 0) and a finite gradient
 * everywhere. A deliberate difference from torchvision: at h = 0 torchvision's atan(w / 0) is ±pi/2 for
 * w != 0 and NaN for a zero-size box (w = h = 0), whose loss and gradients are then NaN; here h = 0 gives
 * sign(w) pi/2 (0 for w = 0, the value of atan2(0, 0)), and the gradient, d/dw = h / (w^2 + h^2),
 * d/dh = -w / (w^2 + h^2), is computed in that closed form (0 where w^2 + h^2 < 1e-30), not through the
 * division, whose gradient is NaN or infinite at h = 0.
 */
const aspectAngle = tf.customGrad((...args) => {
  const [w, h, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([w, h]);
  const zeroH = tf.sub(1, tf.abs(tf.sign(h))); // 1 where h == 0
  const safeH = tf.add(h, zeroH);
  const value = tf.add(tf.mul(tf.sub(1, zeroH), tf.atan(tf.div(w, safeH))), tf.mul(zeroH, tf.mul(tf.sign(w), Math.PI / 2)));
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sw, sh] = saved as [tf.Tensor, tf.Tensor];
      const norm = tf.add(tf.square(sw), tf.square(sh));
      const usable = tf.step(tf.sub(norm, MIN_ANGLE_NORM)); // 1 where norm > MIN_ANGLE_NORM
      const inv = tf.div(usable, tf.add(norm, tf.sub(1, usable)));
      return [tf.mul(dy, tf.mul(sh, inv)), tf.mul(dy, tf.neg(tf.mul(sw, inv)))];
    },
  };
});

/**
 * The loss forms of torchvision/ops/giou_loss.py, diou_loss.py and ciou_loss.py, op for op:
 * intersection only where both overlaps are positive (`_loss_inter_union`), IoU = inter / (union + eps),
 * GIoU's penalty (C - U) / (C + eps), DIoU's squared diagonal + eps, CIoU's v with atan(w / h) and alpha
 * held constant. torch.min / torch.max split the gradient at ties; so do these.
 *
 * @internal Why not @detkit/boxes' aligned IoU family: that is the pairwise ops' math (IoU = inter / union
 * with 0 for union 0; penalties without eps; atan2), which differs from the loss functions by the eps
 * terms (visible on small boxes, e.g. normalised coordinates: eps / union is 1e-3 for union 1e-4) and it
 * rejects x2 < x1, which an untrained network's predicted boxes may have.
 */
function iouLossForm(kind: Kind, a: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  const [x1, y1, x2, y2] = tf.unstack(a, a.rank - 1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  const [x1g, y1g, x2g, y2g] = tf.unstack(b, b.rank - 1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  const max = (p: tf.Tensor, q: tf.Tensor) => tieSplitMaximum(p, q) as tf.Tensor;
  const min = (p: tf.Tensor, q: tf.Tensor) => tieSplitMinimum(p, q) as tf.Tensor;

  // _loss_inter_union: the intersection where ykis2 > ykis1 and xkis2 > xkis1, else 0. tf.step (zero
  // gradient) builds the mask: comparison ops have no gradient in tfjs.
  const iw = tf.sub(min(x2, x2g), max(x1, x1g));
  const ih = tf.sub(min(y2, y2g), max(y1, y1g));
  const inter = tf.mul(tf.mul(tf.step(iw), tf.step(ih)), tf.mul(iw, ih));
  const union = tf.sub(tf.add(tf.mul(tf.sub(x2, x1), tf.sub(y2, y1)), tf.mul(tf.sub(x2g, x1g), tf.sub(y2g, y1g))), inter);

  // Smallest enclosing box.
  const xc1 = min(x1, x1g);
  const yc1 = min(y1, y1g);
  const xc2 = max(x2, x2g);
  const yc2 = max(y2, y2g);

  if (kind === 'giou') {
    const iou = tf.div(inter, tf.add(union, eps));
    const areaC = tf.mul(tf.sub(xc2, xc1), tf.sub(yc2, yc1));
    const giou = tf.sub(iou, tf.div(tf.sub(areaC, union), tf.add(areaC, eps)));
    return tf.sub(1, giou);
  }

  // _diou_iou_loss. torchvision's complete_box_iou_loss calls it without eps, so its DIoU part always
  // uses the default 1e-7 and only alpha sees the eps argument; the same here.
  const diouEps = kind === 'ciou' ? DEFAULT_EPS : eps;
  const iou = tf.div(inter, tf.add(union, diouEps));
  const diagonal = tf.add(tf.add(tf.square(tf.sub(xc2, xc1)), tf.square(tf.sub(yc2, yc1))), diouEps);
  const xp = tf.div(tf.add(x2, x1), 2);
  const yp = tf.div(tf.add(y2, y1), 2);
  const xg = tf.div(tf.add(x1g, x2g), 2);
  const yg = tf.div(tf.add(y1g, y2g), 2);
  const centres = tf.add(tf.square(tf.sub(xp, xg)), tf.square(tf.sub(yp, yg)));
  const diouLoss = tf.add(tf.sub(1, iou), tf.div(centres, diagonal));
  if (kind === 'diou') return diouLoss;

  const angleGt = aspectAngle(tf.sub(x2g, x1g), tf.sub(y2g, y1g));
  const anglePred = aspectAngle(tf.sub(x2, x1), tf.sub(y2, y1));
  const v = tf.mul(CIOU_V_SCALE, tf.square(tf.sub(angleGt, anglePred)));
  const alpha = stopGradient(tf.div(v, tf.add(tf.add(tf.sub(1, iou), v), eps))) as tf.Tensor; // torch.no_grad()
  return tf.add(diouLoss, tf.mul(alpha, v));
}

function boxIouLoss(op: string, kind: Kind, boxes1: TensorInput, boxes2: TensorInput, options: BoxIouLossOptions): tf.Tensor {
  const reduction = reductionOption(op, options.reduction, 'none');
  // eps > 0: it is what keeps IoU = I / (U + eps) defined for zero-size boxes (torchvision gives NaN at 0).
  const eps = numberOption(op, 'eps', options.eps ?? DEFAULT_EPS, { min: 0, minExclusive: true });
  return tf.tidy(() => {
    const a = floatInput(op, 'boxes1', boxes1);
    const b = floatInput(op, 'boxes2', boxes2);
    if (a.rank < 1 || a.shape[a.rank - 1] !== 4) throw new ShapeError(op, 'boxes1', '[..., 4]', a.shape);
    if (!tf.util.arraysEqual(a.shape, b.shape)) throw new ShapeError(op, 'boxes2', `[${a.shape.join(', ')}] (the shape of boxes1)`, b.shape);
    return reduce(iouLossForm(kind, a, b, eps), reduction);
  });
}

/**
 * Generalized IoU loss (Rezatofighi et al. 2019, "Generalized Intersection over Union"): 1 - GIoU of
 * aligned pairs; matches `torchvision.ops.generalized_box_iou_loss`, values and gradients, including
 * where eps enters: IoU = I / (U + eps), GIoU = IoU - (C - U) / (C + eps), C the enclosing box's area.
 * Symmetric in its arguments.
 *
 * Boxes are checked for finite values only: like torchvision, degenerate predictions (x2 < x1) are computed
 * with, not rejected, since an untrained regressor produces them.
 *
 * @param boxes1 - Tensor[..., 4] float32, xyxy (e.g. decoded predictions). Differentiable.
 * @param boxes2 - Tensor of the same shape, float32, xyxy (e.g. matched ground truth). Differentiable.
 * @returns `'none'`: Tensor[...] per pair, in [0, 2]; `'sum'`, `'mean'`: a scalar (empty mean: 0).
 */
export function giouLoss(boxes1: TensorInput, boxes2: TensorInput, options: BoxIouLossOptions = {}): tf.Tensor {
  return boxIouLoss('giouLoss', 'giou', boxes1, boxes2, options);
}

/**
 * Distance IoU loss (Zheng et al. 2020, "Distance-IoU Loss", eq. 6): 1 - IoU + d^2 / (c^2 + eps), d the
 * distance between the centres and c the enclosing box's diagonal; matches
 * `torchvision.ops.distance_box_iou_loss`, values and gradients (IoU = I / (U + eps)).
 *
 * @param boxes1 - Tensor[..., 4] float32, xyxy. Differentiable.
 * @param boxes2 - Tensor of the same shape, float32, xyxy. Differentiable.
 * @returns `'none'`: Tensor[...] per pair; `'sum'`, `'mean'`: a scalar (empty mean: 0).
 */
export function diouLoss(boxes1: TensorInput, boxes2: TensorInput, options: BoxIouLossOptions = {}): tf.Tensor {
  return boxIouLoss('diouLoss', 'diou', boxes1, boxes2, options);
}

/**
 * Complete IoU loss (Zheng et al. 2020, eq. 10): the DIoU loss + alpha v, v = 4/pi^2 (atan(w_gt / h_gt) -
 * atan(w / h))^2, alpha = v / (1 - IoU + v + eps) held constant in the gradient; matches
 * `torchvision.ops.complete_box_iou_loss`, values and gradients, including its quirk that `eps` reaches
 * only alpha (the DIoU part always uses 1e-7). boxes1 plays the prediction in v, boxes2 the ground truth;
 * v is symmetric, so the loss is too.
 *
 * Deliberate difference: torchvision's atan(w / h) is NaN for a box of zero width and height (and its
 * gradient NaN or infinite wherever h = 0), so its loss for a zero-size box, even against itself, is NaN.
 * Here atan(w / h) is taken as sign(w) pi/2 at h = 0 (0 for w = h = 0) with a finite gradient: the same
 * values wherever torchvision's are finite, and finite values and gradients everywhere.
 *
 * @param boxes1 - Tensor[..., 4] float32, xyxy. Differentiable.
 * @param boxes2 - Tensor of the same shape, float32, xyxy. Differentiable.
 * @returns `'none'`: Tensor[...] per pair; `'sum'`, `'mean'`: a scalar (empty mean: 0).
 */
export function ciouLoss(boxes1: TensorInput, boxes2: TensorInput, options: BoxIouLossOptions = {}): tf.Tensor {
  return boxIouLoss('ciouLoss', 'ciou', boxes1, boxes2, options);
}
