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
