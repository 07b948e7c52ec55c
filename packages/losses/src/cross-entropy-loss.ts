import { InvalidArgumentError, ShapeError, integerOption, tf, type TensorInput } from '@detkit/core';
import { divByCount, floatInput, labelsInput, reductionOption, type Reduction } from './internal';
import { softmaxCrossEntropyRows } from './softmax-xent';

/**
 * Label that marks an element to leave out of a loss: detectron2's and torchvision's samplers mark
 * anchors and proposals that are neither positive nor negative with -1.
 */
export const IGNORE_INDEX = -1;

/** Options of {@link crossEntropyLoss}. */
export interface CrossEntropyLossOptions {
  /**
   * Elements with this label contribute 0 and are not counted by `'mean'`. Default -1
   * ({@link IGNORE_INDEX}); torch's default is -100.
   */
  ignoreIndex?: number;
  /** Default `'mean'`: the sum over the elements not ignored, divided by their number. */
  reduction?: Reduction;
}

/**
 * Softmax cross-entropy of class logits against integer labels; matches
 * `torch.nn.functional.cross_entropy(logits, labels, ignore_index=ignoreIndex, reduction=reduction)` for
 * logits [N, C], and extends it to any leading shape with the class axis last.
 *
 * Deliberate differences: the class axis is the last one (torch's is axis 1 for inputs of rank > 2);
 * `'mean'` over zero counted elements (all ignored, or none) gives 0 with a zero gradient, where torch
 * gives NaN; the default ignore index is -1.
 *
 * @param logits - Tensor[..., C] float32, unnormalised scores.
 * @param labels - Tensor[...] int32 class indices in [0, C), or the ignore index. Not differentiated.
 * @returns `'none'`: Tensor[...] per-element losses (0 where ignored); `'sum'`, `'mean'`: a scalar.
 */
export function crossEntropyLoss(logits: TensorInput, labels: TensorInput, options: CrossEntropyLossOptions = {}): tf.Tensor {
  const op = 'crossEntropyLoss';
  const ignoreIndex = integerOption(op, 'ignoreIndex', options.ignoreIndex, { default: IGNORE_INDEX });
  const reduction = reductionOption(op, options.reduction, 'mean');
  return tf.tidy(() => {
    const x = floatInput(op, 'logits', logits);
    if (x.rank < 1) throw new ShapeError(op, 'logits', '[..., C]', x.shape);
    const classes = x.shape[x.rank - 1] as number;
    if (classes === 0) throw new InvalidArgumentError(op, 'logits', 'must have at least one class (last axis of size 0)');
    const y = labelsInput(op, 'labels', labels, classes, ignoreIndex);
    const lead = x.shape.slice(0, -1);
    if (!tf.util.arraysEqual(y.shape, lead)) throw new ShapeError(op, 'labels', `[${lead.join(', ')}] (the shape of logits without its class axis)`, y.shape);
    const perRow = softmaxCrossEntropyRows(x, y, ignoreIndex);
    if (reduction === 'none') return perRow;
    const total = tf.sum(perRow);
    if (reduction === 'sum') return total;
    return divByCount(total, tf.sum(tf.cast(tf.notEqual(y, ignoreIndex), 'float32')));
  });
}
