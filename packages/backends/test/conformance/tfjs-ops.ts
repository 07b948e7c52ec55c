// Conformance cases for the tfjs ops a detector's training step uses, forward and gradient.
import { tf } from '@detkit/core';
import type { ConformanceCase } from '../../src/conformance';
import { ints, uniform, values } from './inputs';

const u = uniform;

export const TFJS_OP_CASES: ConformanceCase[] = [
  // Convolutions: the backbone and heads.
  { name: 'tfjs/conv2d 3x3 stride 1 same', inputs: [u([2, 6, 6, 3], 1), u([3, 3, 3, 4], 2)], run: (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'), grad: [0, 1] },
  { name: 'tfjs/conv2d 3x3 stride 2 same', inputs: [u([2, 7, 6, 3], 3), u([3, 3, 3, 5], 4)], run: (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'same'), grad: [0, 1] },
  { name: 'tfjs/conv2d 5x3 strides [2, 1] valid', inputs: [u([1, 9, 7, 2], 5), u([5, 3, 2, 3], 6)], run: (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, [2, 1], 'valid'), grad: [0, 1] },
  { name: 'tfjs/conv2d 1x1', inputs: [u([2, 4, 4, 6], 7), u([1, 1, 6, 4], 8)], run: (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid'), grad: [0, 1] },
  // Few input channels, many output channels: the filter gradient packs cols rather than dy.
  { name: 'tfjs/conv2d 1x1 widening', inputs: [u([2, 4, 4, 2], 93), u([1, 1, 2, 8], 94)], run: (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid'), grad: [0, 1] },
  { name: 'tfjs/conv2d 3x3 one input channel', inputs: [u([2, 6, 6, 1], 95), u([3, 3, 1, 16], 96)], run: (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'), grad: [0, 1] },
  { name: 'tfjs/conv2d explicit padding', inputs: [u([1, 5, 5, 2], 9), u([3, 3, 2, 2], 10)], run: (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, [[0, 0], [1, 2], [2, 1], [0, 0]]), grad: [0, 1] },
  { name: 'tfjs/conv2dTranspose stride 2', inputs: [u([1, 3, 3, 4], 11), u([3, 3, 2, 4], 12)], run: (x, f) => tf.conv2dTranspose(x as tf.Tensor4D, f as tf.Tensor4D, [1, 6, 6, 2], 2, 'same'), grad: [0, 1] },
  {
    name: 'tfjs/fused conv2d + bias + relu',
    inputs: [u([1, 5, 5, 3], 13), u([3, 3, 3, 4], 14), u([4], 15)],
    run: (x, f, b) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'same', bias: b, activation: 'relu' }),
    grad: [0, 1, 2],
    smooth: false,
  },
  { name: 'tfjs/depthwiseConv2d stride 1', inputs: [u([2, 5, 5, 4], 16), u([3, 3, 4, 1], 17)], run: (x, f) => tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'), grad: [0, 1] },
  { name: 'tfjs/depthwiseConv2d stride 2', inputs: [u([1, 7, 6, 3], 18), u([3, 3, 3, 1], 19)], run: (x, f) => tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'same'), grad: [0, 1] },
  { name: 'tfjs/depthwiseConv2d multiplier 2 valid', inputs: [u([1, 5, 6, 3], 20), u([3, 2, 3, 2], 21)], run: (x, f) => tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid'), grad: [0, 1] },
  {
    name: 'tfjs/separableConv2d',
    inputs: [u([1, 5, 5, 3], 22), u([3, 3, 3, 1], 23), u([1, 1, 3, 4], 24)],
    run: (x, d, p) => tf.separableConv2d(x as tf.Tensor4D, d as tf.Tensor4D, p as tf.Tensor4D, 1, 'same'),
    grad: [0, 1, 2],
  },
  // Dense layers and matrix products.
  { name: 'tfjs/matMul', inputs: [u([5, 7], 25), u([7, 3], 26)], run: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), grad: [0, 1] },
  { name: 'tfjs/matMul transposeA', inputs: [u([7, 5], 27), u([7, 3], 28)], run: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, true, false), grad: [0, 1] },
  { name: 'tfjs/matMul transposeB', inputs: [u([5, 7], 29), u([3, 7], 30)], run: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, false, true), grad: [0, 1] },
  { name: 'tfjs/matMul large transposed (XNNPACK path)', inputs: [u([40, 48], 31), u([40, 36], 32)], run: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, true, false), grad: [0, 1], smooth: false },
  { name: 'tfjs/matMul batched', inputs: [u([3, 4, 5], 33), u([3, 5, 2], 34)], run: (a, b) => tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D), grad: [0, 1] },
  { name: 'tfjs/matMul batched large', inputs: [u([2, 40, 36], 35), u([2, 40, 36], 36)], run: (a, b) => tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, false, true), grad: [0, 1], smooth: false },
  {
    name: 'tfjs/fused matMul + bias + relu',
    inputs: [u([4, 6], 37), u([6, 3], 38), u([3], 39)],
    run: (a, b, bias) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias, activation: 'relu' }),
    grad: [0, 1, 2],
    smooth: false,
  },
  // Activations.
  { name: 'tfjs/relu', inputs: [u([3, 5], 40)], run: (x) => tf.relu(x), grad: [0], smooth: false },
  { name: 'tfjs/relu6', inputs: [u([3, 5], 41, -8, 8)], run: (x) => tf.relu6(x), grad: [0], smooth: false },
  { name: 'tfjs/leakyRelu', inputs: [u([3, 5], 42)], run: (x) => tf.leakyRelu(x, 0.1), grad: [0], smooth: false },
  { name: 'tfjs/elu', inputs: [u([3, 5], 43)], run: (x) => tf.elu(x), grad: [0], smooth: false },
  { name: 'tfjs/sigmoid', inputs: [u([3, 5], 44, -4, 4)], run: (x) => tf.sigmoid(x), grad: [0] },
  { name: 'tfjs/tanh', inputs: [u([3, 5], 45, -3, 3)], run: (x) => tf.tanh(x), grad: [0] },
  { name: 'tfjs/softplus', inputs: [u([3, 5], 46, -3, 3)], run: (x) => tf.softplus(x), grad: [0] },
  { name: 'tfjs/softmax', inputs: [u([4, 6], 47, -3, 3)], run: (x) => tf.softmax(x), grad: [0] },
  { name: 'tfjs/logSoftmax', inputs: [u([4, 6], 48, -3, 3)], run: (x) => tf.logSoftmax(x), grad: [0] },
  // Elementwise math used by losses and box coding.
  { name: 'tfjs/exp log sqrt', inputs: [u([10], 49, 0.5, 2)], run: (x) => [tf.exp(x), tf.log(x), tf.sqrt(x), tf.log1p(x)], grad: [0] },
  { name: 'tfjs/abs square', inputs: [u([10], 50)], run: (x) => [tf.abs(x), tf.square(x)], grad: [0], smooth: false },
  { name: 'tfjs/maximum minimum', inputs: [u([8], 51), u([8], 52)], run: (a, b) => [tf.maximum(a, b), tf.minimum(a, b)], grad: [0, 1], smooth: false },
  { name: 'tfjs/div pow atan2', inputs: [u([8], 53, 0.5, 2), u([8], 54, 0.5, 2)], run: (a, b) => [tf.div(a, b), tf.pow(a, b), tf.atan2(a, b)], grad: [0, 1] },
  { name: 'tfjs/where', inputs: [u([8], 55), u([8], 56), values([1, 0, 0, 1, 1, 0, 1, 0], [8], 'int32')], run: (a, b, c) => tf.where(tf.cast(c, 'bool'), a, tf.mul(b, 2)), grad: [0, 1] },
  { name: 'tfjs/clipByValue', inputs: [u([10], 57, -2, 2)], run: (x) => tf.clipByValue(x, -1, 1), grad: [0], smooth: false },
  // Reductions.
  { name: 'tfjs/sum mean', inputs: [u([3, 4, 5], 58)], run: (x) => [tf.sum(x, 1), tf.mean(x, [0, 2]), tf.sum(x)], grad: [0] },
  { name: 'tfjs/max min', inputs: [u([4, 6], 59)], run: (x) => [tf.max(x, 1), tf.min(x, 0)], grad: [0], smooth: false },
  { name: 'tfjs/logSumExp', inputs: [u([4, 6], 60, -3, 3)], run: (x) => tf.logSumExp(x, 1), grad: [0] },
  { name: 'tfjs/cumsum', inputs: [u([3, 5], 61)], run: (x) => tf.cumsum(x, 1), grad: [0] },
  { name: 'tfjs/argMax topk', inputs: [u([4, 7], 62)], run: (x) => { const { values: v, indices } = tf.topk(x, 3); return [tf.argMax(x, 1), v, indices]; } },
  // Indexing and layout.
  { name: 'tfjs/gather', inputs: [u([6, 3], 63), values([0, 5, 2, 2, 1], [5], 'int32')], run: (x, i) => tf.gather(x, i), grad: [0] },
  { name: 'tfjs/gather axis 1', inputs: [u([3, 6, 2], 64), values([4, 0, 4], [3], 'int32')], run: (x, i) => tf.gather(x, i, 1), grad: [0] },
  { name: 'tfjs/gatherND', inputs: [u([4, 3, 2], 65), values([0, 1, 3, 2, 1, 0], [3, 2], 'int32')], run: (x, i) => tf.gatherND(x, i) },
  { name: 'tfjs/unsortedSegmentSum', inputs: [u([6, 4], 66), values([2, 0, 2, 3, 0, 1], [6], 'int32')], run: (x, s) => tf.unsortedSegmentSum(x, s as tf.Tensor1D, 4), grad: [0] },
  { name: 'tfjs/concat', inputs: [u([2, 3], 67), u([2, 4], 68)], run: (a, b) => tf.concat([a, b], 1), grad: [0, 1] },
  { name: 'tfjs/stack unstack', inputs: [u([3, 4], 69)], run: (x) => tf.stack(tf.unstack(x, 1).slice().reverse(), 0), grad: [0] },
  { name: 'tfjs/split', inputs: [u([2, 6], 70)], run: (x) => tf.split(x, [1, 2, 3], 1), grad: [0] },
  { name: 'tfjs/reshape transpose', inputs: [u([2, 3, 4], 71)], run: (x) => tf.transpose(tf.reshape(x, [6, 4]), [1, 0]), grad: [0] },
  { name: 'tfjs/slice', inputs: [u([4, 5], 72)], run: (x) => tf.slice(x, [1, 1], [2, 3]), grad: [0] },
  { name: 'tfjs/stridedSlice', inputs: [u([6, 6], 73)], run: (x) => tf.stridedSlice(x, [0, 1], [6, 6], [2, 2]) },
  { name: 'tfjs/pad', inputs: [u([2, 3], 74)], run: (x) => tf.pad(x, [[1, 0], [2, 1]]), grad: [0] },
  { name: 'tfjs/tile', inputs: [u([2, 3], 75)], run: (x) => tf.tile(x, [2, 2]), grad: [0] },
  { name: 'tfjs/oneHot', inputs: [values([0, 3, 1, 2], [4], 'int32')], run: (i) => tf.oneHot(i as tf.Tensor1D, 5) },
  { name: 'tfjs/cast', inputs: [u([6], 76, -3, 3)], run: (x) => [tf.cast(x, 'int32'), tf.cast(tf.cast(x, 'int32'), 'float32')] },
  // Pooling and resizing (FPN, RoI heads).
  { name: 'tfjs/maxPool 3x3 stride 2', inputs: [u([1, 7, 7, 3], 77)], run: (x) => tf.maxPool(x as tf.Tensor4D, 3, 2, 'same'), grad: [0], smooth: false },
  { name: 'tfjs/avgPool 2x2', inputs: [u([2, 6, 6, 2], 78)], run: (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'), grad: [0] },
  { name: 'tfjs/resizeBilinear', inputs: [u([1, 4, 5, 2], 79)], run: (x) => tf.image.resizeBilinear(x as tf.Tensor4D, [7, 9]), grad: [0] },
  { name: 'tfjs/resizeBilinear alignCorners', inputs: [u([1, 4, 5, 2], 80)], run: (x) => tf.image.resizeBilinear(x as tf.Tensor4D, [8, 6], true), grad: [0] },
  { name: 'tfjs/resizeNearestNeighbor', inputs: [u([1, 3, 4, 2], 81)], run: (x) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [6, 8]), grad: [0] },
  { name: 'tfjs/cropAndResize', inputs: [u([2, 8, 8, 3], 82), values([0.1, 0.1, 0.6, 0.7, 0.2, 0.3, 0.9, 0.8], [2, 4]), values([0, 1], [2], 'int32')], run: (img, b, i) => tf.image.cropAndResize(img as tf.Tensor4D, b as tf.Tensor2D, i as tf.Tensor1D, [3, 3]) },
  { name: 'tfjs/batchNorm', inputs: [u([2, 3, 3, 4], 83), u([4], 84), u([4], 85, 0.5, 2), u([4], 86), u([4], 87)], run: (x, m, v, o, s) => tf.batchNorm(x, m, v, o, s, 1e-3), grad: [0, 3, 4] },
  // Losses as tfjs composes them.
  {
    name: 'tfjs/sigmoidCrossEntropy',
    inputs: [values([1, 0, 1, 0, 0, 1], [6]), u([6], 88, -3, 3)],
    run: (labels, logits) => tf.losses.sigmoidCrossEntropy(labels, logits),
    grad: [1],
  },
  { name: 'tfjs/softmaxCrossEntropy', inputs: [values([0, 1, 0, 1, 0, 0], [2, 3]), u([2, 3], 89, -3, 3)], run: (l, x) => tf.losses.softmaxCrossEntropy(l, x), grad: [1] },
  { name: 'tfjs/huberLoss', inputs: [u([8], 90, -3, 3), u([8], 91, -3, 3)], run: (a, b) => tf.losses.huberLoss(a, b), grad: [1], smooth: false },
  // Ops that take indices and make no gradient.
  { name: 'tfjs/nonMaxSuppression', inputs: [values([0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30, 0, 0, 9, 9], [4, 4]), values([0.9, 0.8, 0.7, 0.95], [4])], run: (b, s) => tf.image.nonMaxSuppression(b as tf.Tensor2D, s as tf.Tensor1D, 4, 0.5) },
  { name: 'tfjs/range and comparison', inputs: [ints([8], 92, -5, 5)], run: (x) => [tf.cast(tf.greaterEqual(x, 0), 'int32'), tf.add(tf.range(0, 8, 1, 'int32'), x)] },
];
