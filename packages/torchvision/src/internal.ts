// Shared argument checks of the model factories (not exported from the package).
import { InvalidArgumentError, ShapeError, tf, toTensor, type TensorInput } from '@detkit/core';

/** Three finite numbers (a per-channel mean or std), > 0 when `positive`. */
export function channelTriple(op: string, name: string, v: readonly number[], positive: boolean): number[] {
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0))) {
    throw new InvalidArgumentError(op, name, `must be three finite numbers${positive ? ' > 0' : ''}, got ${JSON.stringify(v)}`);
  }
  return [...v];
}

/** A list of Tensor[H, W, 3] images, a Tensor[H, W, 3] or a Tensor[N, H, W, 3] batch, as a list of images. */
export function imageList(op: string, images: TensorInput | readonly TensorInput[]): tf.Tensor3D[] {
  if (Array.isArray(images) && images.length > 0 && images.every((im) => im instanceof tf.Tensor)) {
    return (images as readonly tf.Tensor[]).map((t, i) => {
      if (t.rank !== 3 || t.shape[2] !== 3 || t.shape[0] === 0 || t.shape[1] === 0) throw new ShapeError(op, `images[${i}]`, '[H, W, 3]', t.shape);
      return t as tf.Tensor3D;
    });
  }
  const t = toTensor(op, 'images', images as TensorInput) as tf.Tensor;
  if (t.rank === 3 && t.shape[2] === 3) return [t as tf.Tensor3D];
  if (t.rank !== 4 || t.shape[3] !== 3 || t.shape[0] === 0) throw new ShapeError(op, 'images', '[N, H, W, 3] (N >= 1) or a list of [H, W, 3]', t.shape);
  return tf.unstack(t) as tf.Tensor3D[];
}

/** One image's ground truth as torchvision's models take it in training mode (`{ boxes, labels }`). */
export interface TargetInput {
  /** Tensor[G, 4] (or nested / flat numbers) float32 xyxy boxes in the input image's pixels; G may be 0. */
  boxes: TensorInput;
  /** Tensor[G] int32 class ids in [1, numClasses) (0 is the background). */
  labels: TensorInput;
}

/**
 * The targets of a `loss` call, checked: one per image, boxes Tensor[G, 4] float32 (an empty input is
 * Tensor[0, 4]), labels Tensor[G] int32. Errors name `targets`, `targets[i].boxes` or `targets[i].labels`.
 */
export function targetTensors(op: string, targets: readonly TargetInput[], images: number): { boxes: tf.Tensor2D[]; labels: tf.Tensor1D[] } {
  if (!Array.isArray(targets) || targets.length !== images) {
    throw new InvalidArgumentError(op, 'targets', `must be an array with one target per image (${images}), got ${Array.isArray(targets) ? targets.length : typeof targets}`);
  }
  const boxes = targets.map((t, i) => {
    const b = toTensor(op, `targets[${i}].boxes`, t?.boxes ?? null, 'float32');
    const flat = b.size === 0 ? tf.zeros([0, 4]) : b;
    if (flat.rank !== 2 || flat.shape[1] !== 4) throw new ShapeError(op, `targets[${i}].boxes`, '[G, 4]', b.shape);
    return flat as tf.Tensor2D;
  });
  const labels = targets.map((t, i) => {
    const l = toTensor(op, `targets[${i}].labels`, t?.labels ?? null, 'int32');
    if (l.rank !== 1 || l.shape[0] !== boxes[i]!.shape[0]) throw new ShapeError(op, `targets[${i}].labels`, `[${boxes[i]!.shape[0]}] (one per box)`, l.shape);
    return l as tf.Tensor1D;
  });
  return { boxes, labels };
}
