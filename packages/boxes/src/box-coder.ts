import { InvalidArgumentError, InvalidValueError, ShapeError, hasTypedArrayPath, peekValues, runTypedArrayKernel, tf, valueChecksEnabled, type TensorInput, type TypedArrayKernel } from '@detkit/core';
import { assertFiniteResult, finiteInput, xyxyInput } from './internal';
import { ENCODE_BOXES_KERNEL } from './kernel-names';

/**
 * Default clamp on the decoded log-scale deltas dw, dh: log(1000 / 16). A box may grow at most 1000/16 =
 * 62.5 times its anchor's size, which keeps exp() from overflowing on early, untrained predictions.
 * torchvision's `BoxCoder(bbox_xform_clip=math.log(1000.0 / 16))`.
 */
export const DEFAULT_SCALE_CLAMP = Math.log(1000 / 16);

/** (wx, wy, ww, wh): the deltas are multiplied by these when encoded and divided when decoded. */
export type BoxCoderWeights = readonly [number, number, number, number];

/** Weights of the RPN's box coder (Faster R-CNN): plain (dx, dy, dw, dh). */
export const RPN_BOX_CODER_WEIGHTS: BoxCoderWeights = [1, 1, 1, 1];
/**
 * Weights of the RoI box head (Faster R-CNN, torchvision RoIHeads) and of SSD: (10, 10, 5, 5), i.e. SSD's
 * "variances" 0.1 for the centre and 0.2 for the size, which scale the targets to roughly unit variance.
 */
export const ROI_BOX_CODER_WEIGHTS: BoxCoderWeights = [10, 10, 5, 5];

/** Options of {@link encodeBoxes}. */
export interface EncodeBoxesOptions {
  /** Default {@link RPN_BOX_CODER_WEIGHTS} (1, 1, 1, 1). */
  weights?: BoxCoderWeights;
}

/**
 * Largest `clamp` {@link decodeBoxes} accepts: 50. exp(50) = 5.2e21 times a width within the input limit
 * (2e15, from @detkit/core's MAX_INPUT_MAGNITUDE) stays inside float32; the default is log(62.5) = 4.1.
 */
export const MAX_SCALE_CLAMP = 50;

/** Options of {@link decodeBoxes}. */
export interface DecodeBoxesOptions {
  /** Default {@link RPN_BOX_CODER_WEIGHTS} (1, 1, 1, 1). */
  weights?: BoxCoderWeights;
  /**
   * Upper clamp on dw and dh (after dividing by the weights), a number in [0, {@link MAX_SCALE_CLAMP}]
   * (a negative clamp would shrink every box; torchvision does not check). Default
   * {@link DEFAULT_SCALE_CLAMP}; `false` disables it, and a decoded box that then overflows float32 is an
   * `InvalidValueError` naming `deltas` and the row (with value checks on, on the cpu and wasm backends).
   */
  clamp?: number | false;
}

function checkWeights(op: string, weights: unknown): BoxCoderWeights {
  if (!Array.isArray(weights) || weights.length !== 4 || weights.some((w) => typeof w !== 'number' || !(w > 0) || !Number.isFinite(w))) {
    throw new InvalidArgumentError(op, 'weights', `must be four finite numbers > 0, got ${JSON.stringify(weights)}`);
  }
  return weights as unknown as BoxCoderWeights;
}

/** Rejects boxes with a zero width or height: they would encode to infinite deltas. */
function assertPositiveSizes(op: string, argument: string, t: tf.Tensor): void {
  if (!valueChecksEnabled() || t.size === 0) return;
  const v = peekValues(t);
  for (let i = 0; i < v.length; i += 4) {
    if (!((v[i + 2] as number) > (v[i] as number)) || !((v[i + 3] as number) > (v[i + 1] as number))) {
      throw new InvalidValueError(op, argument, 'has a box of zero width or height (its encoding would be infinite)', i / 4);
    }
  }
}

/** Widths, heights and centres ([N, 1] each) of xyxy boxes, computed as torchvision's BoxCoder does. */
function geometry(boxes: tf.Tensor): { w: tf.Tensor; h: tf.Tensor; cx: tf.Tensor; cy: tf.Tensor } {
  const [x1, y1, x2, y2] = tf.split(boxes, 4, 1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  const w = tf.sub(x2, x1);
  const h = tf.sub(y2, y1);
  return { w, h, cx: tf.add(x1, tf.mul(0.5, w)), cy: tf.add(y1, tf.mul(0.5, h)) };
}

/** The encoding as tfjs ops: the GPU backends' path, and the reference the fused kernel is tested against. */
export function encodeOps(t: tf.Tensor, a: tf.Tensor, [wx, wy, ww, wh]: BoxCoderWeights): tf.Tensor2D {
  const g = geometry(t);
  const e = geometry(a);
  const dx = tf.div(tf.mul(wx, tf.sub(g.cx, e.cx)), e.w);
  const dy = tf.div(tf.mul(wy, tf.sub(g.cy, e.cy)), e.h);
  const dw = tf.mul(ww, tf.log(tf.div(g.w, e.w)));
  const dh = tf.mul(wh, tf.log(tf.div(g.h, e.h)));
  return tf.concat([dx, dy, dw, dh], 1) as tf.Tensor2D;
}

interface EncodeAttrs {
  weights: BoxCoderWeights;
}

/**
 * {@link encodeOps} in one pass over the rows: each float32 operation of the op chain, in its order, each
 * result rounded to float32 (Math.fround), so the deltas are the chain's (the log's last bit aside, where
 * a backend's float32 log and Math.log's rounded double differ).
 */
const encodeKernel: TypedArrayKernel<EncodeAttrs> = {
  kernelName: ENCODE_BOXES_KERNEL,
  inputNames: ['targets', 'anchors'],
  compute([targets, anchors], { weights }, ctx) {
    const n = targets!.shape[0] as number;
    const out = ctx.output([n, 4], 'float32');
    const o = out.values;
    const t = targets!.values;
    const a = anchors!.values;
    const f = Math.fround;
    const [wx, wy, ww, wh] = weights.map(f) as [number, number, number, number];
    for (let i = 0; i < 4 * n; i += 4) {
      const gw = f((t[i + 2] as number) - (t[i] as number));
      const gh = f((t[i + 3] as number) - (t[i + 1] as number));
      const ew = f((a[i + 2] as number) - (a[i] as number));
      const eh = f((a[i + 3] as number) - (a[i + 1] as number));
      const gcx = f((t[i] as number) + f(0.5 * gw));
      const gcy = f((t[i + 1] as number) + f(0.5 * gh));
      const ecx = f((a[i] as number) + f(0.5 * ew));
      const ecy = f((a[i + 1] as number) + f(0.5 * eh));
      o[i] = f(wx * f(gcx - ecx)) / ew;
      o[i + 1] = f(wy * f(gcy - ecy)) / eh;
      o[i + 2] = ww * f(Math.log(f(gw / ew)));
      o[i + 3] = wh * f(Math.log(f(gh / eh)));
    }
    return [out];
  },
};

/**
 * Gradients of the encoding with respect to targets and anchors, given dy [N, 4] (closed form: with
 * g = targets and e = anchors, d dx / d gcx = wx / ew, d dx / d ew = -wx (gcx - ecx) / ew^2,
 * d dw / d gw = ww / gw, d dw / d ew = -ww / ew; then cx = x1 + w / 2 and w = x2 - x1 give
 * d / d x1 = d / d cx / 2 - d / d w and d / d x2 = d / d cx / 2 + d / d w).
 */
function encodeGradient(dy: tf.Tensor, t: tf.Tensor, a: tf.Tensor, [wx, wy, ww, wh]: BoxCoderWeights): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const g = geometry(t);
    const e = geometry(a);
    const [ddx, ddy, ddw, ddh] = tf.split(dy, 4, 1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    // One axis: d / d centre and d / d size of the target and of the anchor.
    const axis = (d: tf.Tensor, ds: tf.Tensor, w: number, ws: number, gc: tf.Tensor, ec: tf.Tensor, gs: tf.Tensor, es: tf.Tensor) => {
      const dCentre = tf.div(tf.mul(d, w), es);
      const dTargetSize = tf.div(tf.mul(ds, ws), gs);
      const dAnchorSize = tf.neg(tf.add(tf.div(tf.mul(ds, ws), es), tf.div(tf.mul(dCentre, tf.sub(gc, ec)), es)));
      const half = tf.mul(0.5, dCentre);
      return {
        target: [tf.sub(half, dTargetSize), tf.add(half, dTargetSize)],
        anchor: [tf.sub(tf.neg(half), dAnchorSize), tf.add(tf.neg(half), dAnchorSize)],
      };
    };
    const x = axis(ddx, ddw, wx, ww, g.cx, e.cx, g.w, e.w);
    const y = axis(ddy, ddh, wy, wh, g.cy, e.cy, g.h, e.h);
    return [tf.concat([x.target[0]!, y.target[0]!, x.target[1]!, y.target[1]!], 1), tf.concat([x.anchor[0]!, y.anchor[0]!, x.anchor[1]!, y.anchor[1]!], 1)];
  });
}

/** The encoding as one fused kernel (cpu, wasm) with its closed-form gradient. */
function encodeFused(t: tf.Tensor, a: tf.Tensor, weights: BoxCoderWeights): tf.Tensor2D {
  const op = tf.customGrad((targets, anchors, save) => {
    (save as tf.GradSaveFunc)([targets as tf.Tensor, anchors as tf.Tensor]);
    return {
      value: runTypedArrayKernel(encodeKernel, [targets as tf.Tensor, anchors as tf.Tensor], { weights })[0] as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => encodeGradient(dy, saved[0]!, saved[1]!, weights),
    };
  });
  return op(t, a) as tf.Tensor2D;
}

/**
 * Encodes target boxes relative to anchors (or proposals) as regression targets (dx, dy, dw, dh);
 * matches torchvision `BoxCoder.encode_single` (Faster R-CNN, Ren et al. 2015, eq. 2):
 * dx = wx (x_t - x_a) / w_a, dy = wy (y_t - y_a) / h_a, dw = ww log(w_t / w_a), dh = wh log(h_t / h_a),
 * with (x, y) box centres.
 *
 * @param targets - Tensor[N, 4], float32, xyxy: the boxes to encode (matched ground truth). Positive sizes.
 * @param anchors - Tensor[N, 4], float32, xyxy: the reference boxes, one per target. Positive sizes.
 * @returns Tensor[N, 4], float32, deltas (dx, dy, dw, dh). Differentiable: on cpu and wasm one fused
 *   kernel ({@link ENCODE_BOXES_KERNEL}) with a closed-form gradient, on the GPU backends the op chain.
 * @throws InvalidValueError naming `anchors` and the row when a delta overflows float32 (an anchor far
 *   smaller than its distance to the target; with value checks on, on the cpu and wasm backends).
 */
export function encodeBoxes(targets: TensorInput, anchors: TensorInput, options: EncodeBoxesOptions = {}): tf.Tensor2D {
  const op = 'encodeBoxes';
  const weights = checkWeights(op, options.weights ?? RPN_BOX_CODER_WEIGHTS);
  return tf.tidy(() => {
    const t = xyxyInput(op, 'targets', targets, { rank2: true });
    const a = xyxyInput(op, 'anchors', anchors, { rank2: true });
    if (t.shape[0] !== a.shape[0]) throw new ShapeError(op, 'anchors', `[${t.shape[0]}, 4] (one per target)`, a.shape);
    assertPositiveSizes(op, 'targets', t);
    assertPositiveSizes(op, 'anchors', a);
    const out = hasTypedArrayPath() ? encodeFused(t, a, weights) : encodeOps(t, a, weights);
    assertFiniteResult(op, 'anchors', out, 'is too small for its target: the encoding overflows float32');
    return out;
  });
}

/**
 * Decodes deltas (dx, dy, dw, dh) relative to anchors into boxes; matches torchvision
 * `BoxCoder.decode_single`, including the clamp of dw, dh at `clamp` before exp().
 *
 * @param deltas - Tensor[N, 4K], float32: K sets of (dx, dy, dw, dh) per anchor (K = 1 for the RPN, the
 *   number of classes for class-specific box-head deltas).
 * @param anchors - Tensor[N, 4], float32, xyxy.
 * @returns Tensor[N, 4K], float32, xyxy boxes, K per anchor, in the order of `deltas`. Differentiable.
 */
export function decodeBoxes(deltas: TensorInput, anchors: TensorInput, options: DecodeBoxesOptions = {}): tf.Tensor2D {
  const op = 'decodeBoxes';
  const [wx, wy, ww, wh] = checkWeights(op, options.weights ?? RPN_BOX_CODER_WEIGHTS);
  const clamp = options.clamp ?? DEFAULT_SCALE_CLAMP;
  if (clamp !== false && (typeof clamp !== 'number' || !(clamp >= 0 && clamp <= MAX_SCALE_CLAMP))) {
    throw new InvalidArgumentError(op, 'clamp', `must be a number in [0, ${MAX_SCALE_CLAMP}] (MAX_SCALE_CLAMP) or false, got ${String(clamp)}`);
  }
  return tf.tidy(() => {
    const d = finiteInput(op, 'deltas', deltas, 2, '[N, 4K]');
    const a = xyxyInput(op, 'anchors', anchors, { rank2: true });
    const n = d.shape[0] as number;
    const k4 = d.shape[1] as number;
    if (k4 % 4 !== 0 || k4 === 0) throw new ShapeError(op, 'deltas', '[N, 4K]', d.shape);
    if (a.shape[0] !== n) throw new ShapeError(op, 'anchors', `[${n}, 4] (one per row of deltas)`, a.shape);
    const k = k4 / 4;
    const e = geometry(a); // [N, 1] each, broadcast over the K sets
    const d3 = tf.reshape(d, [n, k, 4]);
    const [rdx, rdy, rdw, rdh] = tf.split(d3, 4, 2).map((c) => tf.reshape(c, [n, k])) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const dx = tf.div(rdx, wx);
    const dy = tf.div(rdy, wy);
    let dw = tf.div(rdw, ww);
    let dh = tf.div(rdh, wh);
    if (clamp !== false) {
      dw = tf.minimum(dw, clamp);
      dh = tf.minimum(dh, clamp);
    }
    const cx = tf.add(tf.mul(dx, e.w), e.cx);
    const cy = tf.add(tf.mul(dy, e.h), e.cy);
    const halfW = tf.mul(0.5, tf.mul(tf.exp(dw), e.w));
    const halfH = tf.mul(0.5, tf.mul(tf.exp(dh), e.h));
    const boxes = tf.stack([tf.sub(cx, halfW), tf.sub(cy, halfH), tf.add(cx, halfW), tf.add(cy, halfH)], 2);
    const out = tf.reshape(boxes, [n, k4]) as tf.Tensor2D;
    // Only an unclamped exp() can leave float32 for inputs within MAX_INPUT_MAGNITUDE.
    if (clamp === false) assertFiniteResult(op, 'deltas', out, 'decodes to a box beyond float32 range (dw or dh too large with clamp: false)');
    return out;
  });
}
