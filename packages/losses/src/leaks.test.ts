// No tensor leaks: every loss, forward and forward + backward, leaves tf.memory().numTensors as it found
// it (the outputs and gradients it returns are disposed by expectNoLeaks), with array and tensor inputs.
import { tf } from '@detkit/core';
import { describeEachBackend, expectNoLeaks } from '@detkit/test-utils';
import { it } from 'vitest';
import * as losses from './index';

const boxes1 = [[0, 0, 10, 10], [5, 5, 20, 30], [1, 2, 3, 4]];
const boxes2 = [[0, 0, 12, 9], [4, 4, 8, 8], [2, 2, 6, 6]];
const logits = [[1, 2, 0.5], [0.1, -1, 3], [2, 2, 1]];
const parts = (l: losses.DetectionLoss) => [l.total, l.classification, l.regression];

/** Forward, and value + gradients with respect to `xs` (float32 tensors made inside). */
function both(name: string, f: (...xs: tf.Tensor[]) => tf.Tensor, xs: () => tf.Tensor[]): Record<string, () => unknown> {
  return {
    [name]: () => tf.tidy(() => f(...xs())),
    [`${name} gradient`]: () =>
      tf.tidy(() => {
        const { value, grads } = tf.valueAndGrads((...args: tf.Tensor[]) => f(...args))(xs());
        return [value, ...grads];
      }),
  };
}

describeEachBackend('no tensor leaks', () => {
  const labels3 = () => tf.tensor1d([2, 0, -1], 'int32');
  const cases: Record<string, () => unknown> = {
    'smoothL1Loss arrays': () => losses.smoothL1Loss([1, 2, 3], [1.5, 0, 3], { beta: 1 / 9 }),
    'crossEntropyLoss arrays': () => losses.crossEntropyLoss(logits, [2, 0, -1], { reduction: 'none' }),
    'giouLoss arrays': () => losses.giouLoss(boxes1, boxes2, { reduction: 'mean' }),
    'multiboxLoss arrays': () => parts(losses.multiboxLoss([logits], [[[0, 0, 0, 0], [1, 1, 1, 1], [0, 1, 0, 1]]], [[1, 0, 0]], [[[0.1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]])),
    ...both('smoothL1Loss', (p, t) => losses.smoothL1Loss(p!, t!, { reduction: 'sum' }), () => [tf.tensor([1, -2, 0.05]), tf.tensor([0, 0, 0])]),
    ...both('smoothL1Loss beta 0', (p, t) => losses.smoothL1Loss(p!, t!, { beta: 0 }), () => [tf.tensor([1, -2, 0]), tf.tensor([0, 0, 0])]),
    ...both('crossEntropyLoss', (x) => losses.crossEntropyLoss(x!, labels3()), () => [tf.tensor2d(logits)]),
    ...both('binaryCrossEntropyWithLogits', (x, t) => losses.binaryCrossEntropyWithLogits(x!, t!), () => [tf.tensor([1, -3, 0]), tf.tensor([1, 0, 0.5])]),
    ...both('sigmoidFocalLoss', (x, t) => losses.sigmoidFocalLoss(x!, t!, { reduction: 'mean' }), () => [tf.tensor([1, -3, 0]), tf.tensor([1, 0, 1])]),
    ...both('sigmoidFocalLoss gamma 1.5', (x, t) => losses.sigmoidFocalLoss(x!, t!, { gamma: 1.5, reduction: 'sum' }), () => [tf.tensor([1, -3, 0]), tf.tensor([1, 0, 1])]),
    ...both('giouLoss', (a, b) => losses.giouLoss(a!, b!, { reduction: 'sum' }), () => [tf.tensor2d(boxes1), tf.tensor2d(boxes2)]),
    ...both('diouLoss', (a, b) => losses.diouLoss(a!, b!, { reduction: 'sum' }), () => [tf.tensor2d(boxes1), tf.tensor2d(boxes2)]),
    ...both('ciouLoss', (a, b) => losses.ciouLoss(a!, b!, { reduction: 'sum' }), () => [tf.tensor2d(boxes1), tf.tensor2d(boxes2)]),
    ...both('rpnLoss sigmoid', (o, d) => losses.rpnLoss(o!, d!, tf.tensor2d([[1, 0, -1]], undefined, 'int32'), tf.zeros([1, 3, 4])).total, () => [tf.tensor2d([[0.5, -1, 2]]), tf.ones([1, 3, 4])]),
    ...both('rpnLoss softmax keras-frcnn', (o, d) => losses.rpnLoss(o!, d!, tf.tensor2d([[1, 0, -1]], undefined, 'int32'), tf.zeros([1, 3, 4]), { normalization: 'keras-frcnn' }).total, () => [tf.ones([1, 3, 2]), tf.ones([1, 3, 4])]),
    ...both('fastRcnnLoss', (c, r) => losses.fastRcnnLoss(c!, r!, labels3(), tf.zeros([3, 4])).total, () => [tf.tensor2d(logits), tf.ones([3, 12])]),
    ...both('multiboxLoss', (c, d) => losses.multiboxLoss(c!, d!, tf.tensor2d([[1, 0, 0]], undefined, 'int32'), tf.zeros([1, 3, 4])).total, () => [tf.tensor3d([logits]), tf.ones([1, 3, 4])]),
    ...both('multiboxLoss none', (c, d) => tf.sum(losses.multiboxLoss(c!, d!, tf.tensor2d([[0, 0, 0]], undefined, 'int32'), tf.zeros([1, 3, 4]), { reduction: 'none' }).total), () => [tf.tensor3d([logits]), tf.ones([1, 3, 4])]),
    'rpnLoss all parts, none': () => parts(losses.rpnLoss([[0.5, -1]], [[[1, 1, 1, 1], [0, 0, 0, 0]]], [[1, 0]], [[[0, 0, 0, 0], [1, 1, 1, 1]]], { reduction: 'none' })),
  };
  for (const [name, fn] of Object.entries(cases)) {
    it(name, () => expectNoLeaks(fn));
  }
});
