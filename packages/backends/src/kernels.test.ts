// detkit's wasm kernels called directly (tf.engine().runKernel) with attributes the op-level conformance
// cases do not reach, each compared with tfjs-backend-cpu's kernel on the same inputs.
import { BATCH_NORM_TRAIN_KERNELS, RELU_GRAD_KERNEL, ShapeError, tf } from '@detkit/core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { expectClose } from '@detkit/test-utils';
import { describe, expect, it } from 'vitest';
import { useBackend } from './use-backend';

type Inputs = Record<string, { shape: number[]; values: number[]; dtype?: 'float32' | 'int32' }>;

function data(shape: number[], seed: number): { shape: number[]; values: number[] } {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, values: Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 0.9) };
}

async function onBackend(backend: 'cpu' | 'wasm', kernel: string, inputs: Inputs, attrs: object): Promise<{ shape: number[]; values: number[] }> {
  await useBackend(backend);
  const tensors: Record<string, tf.Tensor> = {};
  for (const [name, t] of Object.entries(inputs)) tensors[name] = tf.tensor(t.values, t.shape, t.dtype ?? 'float32');
  const out = tf.engine().runKernel(kernel, tensors, attrs as never) as tf.Tensor;
  const result = { shape: [...out.shape], values: Array.from(await out.data()) };
  tf.dispose([out, ...Object.values(tensors)]);
  return result;
}

/** dy's shape [n, oh, ow, outC] for an NHWC conv2d of x [n, h, w, c] with a [kh, kw, c, outC] filter. */
function dyShape(xShape: readonly number[], filterShape: readonly number[], strides: number | readonly [number, number], pad: 'same' | 'valid'): number[] {
  const [n, h, w] = xShape as [number, number, number];
  const [kh, kw, , outC] = filterShape as [number, number, number, number];
  const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
  return pad === 'same' ? [n, Math.ceil(h / sh), Math.ceil(w / sw), outC] : [n, Math.ceil((h - kh + 1) / sh), Math.ceil((w - kw + 1) / sw), outC];
}

async function expectSameAsCpu(kernel: string, inputs: Inputs, attrs: object): Promise<void> {
  const cpu = await onBackend('cpu', kernel, inputs, attrs);
  const wasm = await onBackend('wasm', kernel, inputs, attrs);
  expect(wasm.shape).toEqual(cpu.shape);
  expectClose(wasm.values, cpu.values, { atol: 1e-4, rtol: 1e-4, what: kernel });
}

describe('wasm training kernels against tfjs-backend-cpu', () => {
  it('Conv2DBackpropFilter, NCHW', () =>
    expectSameAsCpu('Conv2DBackpropFilter', { x: data([2, 3, 7, 6], 1), dy: data([2, 4, 4, 3], 2) }, { strides: 2, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] }));

  // The direct filter gradient sums 4 input channels x 8 (then 4, then 1) output channels at a time over
  // the pixels a tap reaches: channel counts with and without a remainder of 4 or 8 on both sides, padding
  // on every side, strides 1 and 2, 3x3 and 5x5 taps.
  it.each([
    ['8 channels to 20, stride 2 same', [2, 9, 7, 8], [3, 3, 8, 20], 2, 'same'],
    ['5 channels to 11, stride 1 same', [1, 6, 6, 5], [3, 3, 5, 11], 1, 'same'],
    ['8 channels, 30 pixels, stride 1 same', [2, 5, 3, 8], [3, 3, 8, 5], 1, 'same'],
    ['6 channels, 35 pixels, stride 1 same', [1, 7, 5, 6], [3, 3, 6, 4], 1, 'same'],
    ['13 channels, 12 pixels, stride 2 same', [3, 4, 3, 13], [3, 3, 13, 7], 2, 'same'],
    ['4 channels, 9 pixels, stride 1 valid, 5x5', [1, 7, 7, 4], [5, 5, 4, 3], 1, 'valid'],
    // Batches summed by parts of whole images (gradientPartSize: 64 output pixels a part, at most 8 parts),
    // the parts added in order: 7 images of 30 pixels in parts of 3, 3 and 1 (rows split in bands within a
    // part on 2 threads); 9 images of 64 pixels, 3 channels, in parts of 2, 2, 2, 2 and 1.
    ['8 channels to 20, 7 images in 3 parts', [7, 12, 10, 8], [3, 3, 8, 20], 2, 'same'],
    ['3 channels to 16, 9 images in 5 parts', [9, 16, 16, 3], [3, 3, 3, 16], 2, 'same'],
  ] as const)('Conv2DBackpropFilter, NHWC: %s', (_name, xShape, filterShape, strides, pad) =>
    expectSameAsCpu('Conv2DBackpropFilter', { x: data([...xShape], 21), dy: data(dyShape(xShape, filterShape, strides, pad), 22) }, { strides, pad, dataFormat: 'NHWC', filterShape: [...filterShape] }));

  it('Conv2DBackpropInput, NCHW', () =>
    expectSameAsCpu('Conv2DBackpropInput', { dy: data([2, 4, 4, 3], 3), filter: data([3, 3, 3, 4], 4) }, { strides: 2, pad: 'same', dataFormat: 'NCHW', inputShape: [2, 3, 7, 6] }));

  it('Conv2DBackpropInput, 1x1 stride 1 (no col2im)', () =>
    expectSameAsCpu('Conv2DBackpropInput', { dy: data([1, 5, 5, 6], 5), filter: data([1, 1, 3, 6], 6) }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', inputShape: [1, 5, 5, 3] }));

  // Input gradients are detkit's direct convolution of dy with the turned filter, one phase per stride offset:
  // pixels in groups of four and at the edges, 'same' (asymmetric at stride 2) and 'valid' (a full
  // convolution) padding, 5x5 and 2x3 taps, strides 1, 2 and [2, 1], a 1x1 filter at stride 2 (phases no tap
  // reaches), even and odd sizes.
  it.each([
    ['8 channels from 5, 3x3 same', [2, 6, 9, 8], [3, 3, 8, 5], 1, 'same'],
    ['4 channels from 12, 5x5 valid', [1, 9, 11, 4], [5, 5, 4, 12], 1, 'valid'],
    ['12 channels from 3, 2x3 same', [2, 5, 7, 12], [2, 3, 12, 3], 1, 'same'],
    ['8 channels from 6, 3x3 stride 2 same, even size', [2, 8, 10, 8], [3, 3, 8, 6], 2, 'same'],
    ['4 channels from 9, 3x3 stride 2 same, odd size', [1, 9, 7, 4], [3, 3, 4, 9], 2, 'same'],
    ['8 channels from 4, 5x5 stride 2 valid', [1, 11, 12, 8], [5, 5, 8, 4], 2, 'valid'],
    ['4 channels from 8, 1x1 stride 2', [2, 6, 5, 4], [1, 1, 4, 8], 2, 'valid'],
    ['4 channels from 7, 3x3 strides [2, 1] same', [1, 7, 6, 4], [3, 3, 4, 7], [2, 1], 'same'],
  ] as const)('Conv2DBackpropInput, NHWC: %s', (_name, inShape, filterShape, strides, pad) =>
    expectSameAsCpu('Conv2DBackpropInput', { dy: data(dyShape(inShape, filterShape, strides, pad), 31), filter: data([...filterShape], 32) }, { strides, pad, dataFormat: 'NHWC', inputShape: [...inShape] }));

  // Conv2D and FusedConv2D are detkit's direct convolution (4 pixels x 8 channels per tile, then 4 channels,
  // then the last channels one at a time; edge pixels one at a time); FusedConv2D adds a bias and a ReLU.
  it.each([
    ['5 channels to 12, 3x3 stride 1 same', [2, 7, 9, 5], [3, 3, 5, 12], 1, 'same'],
    ['3 channels to 8, 3x3 stride 2 same', [2, 9, 10, 3], [3, 3, 3, 8], 2, 'same'],
    ['6 channels to 4, 5x5 stride 1 explicit', [1, 6, 7, 6], [5, 5, 6, 4], 1, [[0, 0], [2, 0], [1, 3], [0, 0]]],
    ['4 channels to 6, 3x3 stride 2 valid', [1, 8, 7, 4], [3, 3, 4, 6], 2, 'valid'],
    ['16 channels to 9, 1x1 (an RPN objectness layer)', [2, 5, 6, 16], [1, 1, 16, 9], 1, 'valid'],
    ['16 channels to 13, 3x3 stride 1 same (8 + 4 + 1)', [1, 6, 7, 16], [3, 3, 16, 13], 1, 'same'],
  ] as const)('Conv2D and FusedConv2D (bias, ReLU), NHWC: %s', async (_name, xShape, filterShape, strides, pad) => {
    const attrs = { strides, pad, dataFormat: 'NHWC', dilations: 1 };
    const x = data([...xShape], 33);
    const filter = data([...filterShape], 34);
    await expectSameAsCpu('Conv2D', { x, filter }, attrs);
    await expectSameAsCpu('FusedConv2D', { x, filter, bias: data([filterShape[3]], 35) }, { ...attrs, activation: 'relu' });
  });

  // 3x3 stride-1 convolutions with at least 16 channels each side (1,024 multiplied) run Winograd's F(2x2, 3x3)
  // and its transpose for the filter gradient (src/winograd.ts): odd sizes (tiles cut by the edge), 'valid'
  // and asymmetric explicit padding, output channels that are not whole blocks of eight (36, 52, 132), a map
  // of one tile, a bias with a ReLU, both ways through the steps (fused per unit of tiles for filters whose
  // transform fits L2, step by step for larger ones); each pass compared with tfjs-backend-cpu's direct sums.
  it.each([
    ['16 channels to 64, odd sizes, same', [2, 9, 7, 16], 64, 'same'],
    ['32 channels to 36, valid', [1, 6, 8, 32], 36, 'valid'],
    ['20 channels to 52, explicit', [2, 5, 6, 20], 52, [[0, 0], [2, 0], [1, 2], [0, 0]]],
    ['32 channels to 32, a 2 x 2 map', [3, 2, 2, 32], 32, 'same'],
    ['64 channels to 132 (a filter transform over 512 KiB: step by step, not tile unit by unit)', [1, 5, 6, 64], 132, 'same'],
    // The filter gradient summed by parts of the tiles (gradientPartSize: 64 tiles a part), each part in
    // groups of tiles: 3 x 7 x 9 = 189 tiles in parts of 95 and 94, groups of 51 tiles (256 KiB / (64 x 80)).
    ['16 channels to 64, 189 tiles in 2 parts, in groups', [3, 14, 18, 16], 64, 'same'],
  ] as const)('Winograd F(2x2, 3x3): Conv2D, FusedConv2D, both gradients: %s', async (_name, xShape, outC, pad) => {
    const filterShape = [3, 3, xShape[3], outC];
    const attrs = { strides: 1, pad, dataFormat: 'NHWC', dilations: 1 };
    const x = data([...xShape], 61);
    const filter = data(filterShape, 62);
    await expectSameAsCpu('Conv2D', { x, filter }, attrs);
    await expectSameAsCpu('FusedConv2D', { x, filter, bias: data([outC], 63) }, { ...attrs, activation: 'relu' });
    const [n, h, w] = xShape;
    const explicit = typeof pad === 'object';
    const outH = explicit ? h + 2 - 2 : pad === 'same' ? h : h - 2;
    const outW = explicit ? w + 3 - 2 : pad === 'same' ? w : w - 2;
    const dy = data([n, outH, outW, outC], 64);
    await expectSameAsCpu('Conv2DBackpropInput', { dy, filter }, { strides: 1, pad, dataFormat: 'NHWC', inputShape: [...xShape] });
    await expectSameAsCpu('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad, dataFormat: 'NHWC', filterShape });
  });

  // The same results by Winograd as by the direct kernels (DETKIT_WINOGRAD false), to float32 rounding, and
  // not bit for bit: the Winograd path ran.
  it('DETKIT_WINOGRAD false runs the direct kernels; Winograd agrees with them to rounding', async () => {
    await useBackend('wasm');
    const x = tf.tensor(data([2, 10, 12, 32], 71).values, [2, 10, 12, 32]);
    const filter = tf.tensor(data([3, 3, 32, 48], 72).values, [3, 3, 32, 48]);
    const run = (winograd: boolean) => {
      tf.env().set('DETKIT_WINOGRAD', winograd);
      try {
        return tf.tidy(() => {
          const y = tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, 1, 'same');
          const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))))([x, filter]);
          return [y, dx!, df!].map((t) => t.dataSync());
        });
      } finally {
        tf.env().set('DETKIT_WINOGRAD', true);
      }
    };
    const direct = run(false);
    const winograd = run(true);
    for (let i = 0; i < 3; i++) {
      expectClose(Array.from(winograd[i]!), Array.from(direct[i]!), { atol: 1e-5 * Math.max(...direct[i]!.map(Math.abs)), rtol: 0, what: ['y', 'dx', 'dW'][i]! });
      expect(winograd[i]!.some((v, j) => v !== direct[i]![j])).toBe(true);
    }
    tf.dispose([x, filter]);
  });

  // Layers too large for one group of transformed tiles (DETKIT_WINOGRAD_GROUP_BYTES, 16 MiB by default) go
  // through in groups: each output tile is independent and the filter gradient's sums continue in the same
  // order, so any group size gives the same bits. Here groups of 4 and 5 tiles against one group of 84.
  it('Winograd in groups of tiles gives the bits of one group', async () => {
    await useBackend('wasm');
    const x = tf.tensor(data([2, 13, 11, 16], 81).values, [2, 13, 11, 16]) as tf.Tensor4D;
    const filter = tf.tensor(data([3, 3, 16, 64], 82).values, [3, 3, 16, 64]) as tf.Tensor4D;
    const bias = tf.tensor(data([64], 83).values, [64]);
    const run = () =>
      tf.tidy(() => {
        const y = tf.fused.conv2d({ x, filter, bias, strides: 1, pad: 'same', activation: 'relu' });
        const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))))([x, filter]);
        return [y, dx!, df!].map((t) => Array.from(t.dataSync()));
      });
    const whole = run();
    for (const bytes of [4096, 5 * 16 * 4 * 80]) {
      tf.env().set('DETKIT_WINOGRAD_GROUP_BYTES', bytes);
      try {
        expect(run()).toEqual(whole);
      } finally {
        tf.env().set('DETKIT_WINOGRAD_GROUP_BYTES', 16 * 1024 * 1024);
      }
    }
    tf.dispose([x, filter, bias]);
  });

  // Every filter packed (DETKIT_PACK_MIN_BYTES 0; by default only those over 64 KiB): blocks of eight output
  // channels, the last padded (12 = 8 + 4), for the forward, the input gradient and a matrix product.
  it('packed filters: Conv2D, FusedConv2D, Conv2DBackpropInput and BatchMatMul', async () => {
    tf.env().set('DETKIT_PACK_MIN_BYTES', 0);
    try {
      const x = data([2, 7, 9, 5], 51);
      const filter = data([3, 3, 5, 12], 52);
      await expectSameAsCpu('Conv2D', { x, filter }, { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1 });
      await expectSameAsCpu('FusedConv2D', { x, filter, bias: data([12], 53) }, { strides: 2, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: 'relu' });
      await expectSameAsCpu('Conv2DBackpropInput', { dy: data([2, 4, 5, 12], 54), filter: data([3, 3, 8, 12], 55) }, { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: [2, 8, 10, 8] });
      await expectSameAsCpu('BatchMatMul', { a: data([12, 20], 56), b: data([20, 28], 57) }, { transposeA: false, transposeB: false });
    } finally {
      tf.env().set('DETKIT_PACK_MIN_BYTES', 64 * 1024);
    }
  });

  // Output channels that are not a multiple of 4 (an RPN's 9 objectness logits, a box classifier's 5
  // columns): the last ones are summed one at a time, in the same order as XNNPACK's. XNNPACK runs the same
  // convolution when asked for dilation 2 (which a 1x1 filter does not use), so the bits are compared:
  // packed and plain filters, 5 pixels a row (one group of 4 and one alone), a bias and a ReLU.
  it.each([
    ['64 channels to 9, plain', [2, 3, 5, 64], 9, 64 * 1024],
    ['64 channels to 13 (8 + 4 + 1), packed', [1, 4, 5, 64], 13, 0],
    ['1,100 channels to 5 (long sums)', [1, 4, 4, 1100], 5, 64 * 1024],
  ] as const)('FusedConv2D 1x1, any output channels, the same bits as XNNPACK: %s', async (_name, xShape, outC, packMinBytes) => {
    await useBackend('wasm');
    tf.env().set('DETKIT_PACK_MIN_BYTES', packMinBytes);
    try {
      const x = data([...xShape], 71);
      const filter = data([1, 1, xShape[3], outC], 72);
      const bias = data([outC], 73);
      const t = [tf.tensor(x.values, x.shape), tf.tensor(filter.values, filter.shape), tf.tensor(bias.values, bias.shape)] as const;
      const run = (dilations: number) =>
        tf.engine().runKernel('FusedConv2D', { x: t[0], filter: t[1], bias: t[2] }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations, activation: 'relu' } as never) as tf.Tensor;
      const [detkit, xnnpack] = [run(1), run(2)];
      expect(Array.from(await detkit.data())).toEqual(Array.from(await xnnpack.data()));
      tf.dispose([detkit, xnnpack, ...t]);
    } finally {
      tf.env().set('DETKIT_PACK_MIN_BYTES', 64 * 1024);
    }
    await expectSameAsCpu('Conv2D', { x: data([...xShape], 71), filter: data([1, 1, xShape[3], outC], 72) }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1 });
  });

  it('DepthwiseConv2dNativeBackpropFilter, multiplier 3, explicit padding', () =>
    expectSameAsCpu(
      'DepthwiseConv2dNativeBackpropFilter',
      { x: data([1, 6, 5, 2], 7), dy: data([1, 3, 4, 6], 8) },
      { strides: [2, 1], dilations: 1, pad: [[0, 0], [1, 0], [0, 1], [0, 0]], filterShape: [3, 3, 2, 3] },
    ));

  it('DepthwiseConv2dNativeBackpropInput, multiplier 3', () =>
    expectSameAsCpu('DepthwiseConv2dNativeBackpropInput', { dy: data([1, 5, 5, 6], 9), filter: data([3, 3, 2, 3], 10) }, { strides: 1, dilations: 1, pad: 'same', inputShape: [1, 5, 5, 2] }));

  it('UnsortedSegmentSum drops ids outside [0, numSegments), rows of rank 2', () =>
    expectSameAsCpu('UnsortedSegmentSum', { x: data([6, 3, 5], 11), segmentIds: { shape: [6], values: [0, 4, 2, -1, 2, 9], dtype: 'int32' } }, { numSegments: 5 }));

  it('UnsortedSegmentSum of int32 data', () =>
    expectSameAsCpu('UnsortedSegmentSum', { x: { shape: [4, 2], values: [1, 2, 3, 4, 5, 6, 7, 8], dtype: 'int32' }, segmentIds: { shape: [4], values: [1, 1, 0, 1], dtype: 'int32' } }, { numSegments: 2 }));

  it('MaxPoolGrad with all-negative windows (stock wasm drops them)', () => {
    const input = { shape: [1, 4, 4, 5], values: data([1, 4, 4, 5], 12).values.map((v) => v - 2) };
    return expectSameAsCpu('MaxPoolGrad', { dy: data([1, 2, 2, 5], 13), input, output: data([1, 2, 2, 5], 14) }, { filterSize: 3, strides: 2, pad: 'same' });
  });

  it.each([
    ['A^T B, one matrix each', [40, 30], [40, 50], true, false],
    ['A B^T, one matrix each', [30, 40], [50, 40], false, true],
    ['batched A against one B (stacked)', [3, 40, 30], [30, 50], false, false],
    ['batched A^T against one B^T', [3, 30, 40], [50, 30], true, true],
    ['one A against batched B (one call per batch)', [40, 30], [3, 30, 50], false, false],
    ['batched against batched, rank 4', [2, 2, 40, 30], [2, 2, 50, 30], false, true],
  ] as const)('BatchMatMul: %s', (_name, aShape, bShape, transposeA, transposeB) =>
    expectSameAsCpu('BatchMatMul', { a: data([...aShape], 15), b: data([...bShape], 16) }, { transposeA, transposeB }),
  );

  it.each([
    ['bias and ReLU (detkit kernel)', [1, 12, 20], [1, 20, 28], 'relu'],
    ['bias, linear (detkit kernel)', [1, 16, 64], [1, 64, 8], 'linear'],
    ['5 columns (detkit kernel: a box classifier)', [1, 12, 20], [1, 20, 5], 'relu'],
    ['13 rows (tfjs-backend-wasm\'s kernel)', [1, 13, 20], [1, 20, 28], 'linear'],
    ['no rows', [1, 0, 20], [1, 20, 28], 'relu'],
  ] as const)('_FusedMatMul: %s', (_name, aShape, bShape, activation) =>
    expectSameAsCpu('_FusedMatMul', { a: data([...aShape], 17), b: data([...bShape], 18), bias: data([bShape[2]], 19) }, { transposeA: false, transposeB: false, activation }),
  );

  it('DetkitReluGrad: dy where y > 0, else +0 (a negative or NaN dy masked too); another shape is a ShapeError naming y', async () => {
    await useBackend('wasm');
    const before = tf.memory().numTensors;
    // Nine elements: two SIMD groups of four and one left over.
    const y = tf.tensor([1, 0, -2, 3, 0.5, -0, 4, -1, 2], [3, 3]);
    const dy = tf.tensor([-1.5, -2, NaN, 4, 5, 6, -7, -8, 9], [3, 3]);
    const flat = tf.zeros([9]);
    const g = tf.engine().runKernel(RELU_GRAD_KERNEL, { dy, y }, {}) as tf.Tensor;
    // By hand: y > 0 at 0, 3, 4, 6 and 8.
    expect(Array.from(await g.data()).map((v) => (Object.is(v, -0) ? '-0' : v))).toEqual([-1.5, 0, 0, 4, 5, 0, -7, 0, 9]);
    expect(() => tf.engine().runKernel(RELU_GRAD_KERNEL, { dy, y: flat }, {})).toThrow(ShapeError);
    tf.dispose([y, dy, flat, g]);
    expect(tf.memory().numTensors).toBe(before);
  });

  // The fused batch norm has no cpu kernel of its name: the reference is tfjs's op chain on cpu (moments,
  // batchNorm, relu and their gradients), torch's training-mode batch_norm (and the ReLU after it). Shapes with
  // a channel remainder of 4 and row counts that are not a multiple of the kernel's 128-row blocks; inputs
  // offset from zero (two-pass). With `relu`, half the outputs are clipped.
  it.each([
    ['6 channels, 105 rows', [3, 7, 5, 6], false],
    ['13 channels, 680 rows (5 full blocks and a part)', [2, 20, 17, 13], false],
    ['16 channels, 1 row', [1, 1, 1, 16], false],
    ['6 channels, 105 rows, ReLU fused', [3, 7, 5, 6], true],
    ['13 channels, 680 rows, ReLU fused', [2, 20, 17, 13], true],
  ] as const)('DetkitBatchNormTrain and its gradient kernel: %s', async (_name, shape, relu) => {
    const c = shape[3];
    const x = data([...shape], 31).values.map((v) => 3 + 2 * v);
    const dy = data([...shape], 32).values;
    const gamma = data([c], 33).values.map((v) => 1 + v);
    const beta = data([c], 34).values;
    const eps = 1e-5;
    await useBackend('cpu');
    const reference = tf.tidy(() => {
      const [xs, gs, bs, dys] = [tf.tensor4d(x, [...shape]), tf.tensor1d(gamma), tf.tensor1d(beta), tf.tensor4d(dy, [...shape])];
      const { mean, variance } = tf.moments(xs, [0, 1, 2]);
      const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const m = tf.moments(a, [0, 1, 2]);
        const y = tf.batchNorm(a as tf.Tensor4D, m.mean, m.variance, b as tf.Tensor1D, g as tf.Tensor1D, eps);
        return relu ? tf.relu(y) : y;
      };
      const out = f(xs, gs, bs);
      const grads = tf.grads(f)([xs, gs, bs], dys);
      return [out, mean, variance, ...grads].map((t) => Array.from(t.dataSync()));
    });
    await useBackend('wasm');
    const { fused, unfused } = tf.tidy(() => {
      const [xs, gs, bs, dys] = [tf.tensor4d(x, [...shape]), tf.tensor1d(gamma), tf.tensor1d(beta), tf.tensor4d(dy, [...shape])];
      const forward = (fuse: boolean) => tf.engine().runKernel(BATCH_NORM_TRAIN_KERNELS.forward, { x: xs, gamma: gs, beta: bs }, { epsilon: eps, relu: fuse }) as tf.Tensor[];
      const gradient = (g: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, y?: tf.Tensor) =>
        tf.engine().runKernel(BATCH_NORM_TRAIN_KERNELS.gradient, { dy: g, x: xs, mean, variance, gamma: gs, ...(y === undefined ? {} : { y }) }, { epsilon: eps }) as tf.Tensor[];
      const [out, mean, variance] = forward(relu);
      const grads = gradient(dys, mean!, variance!, relu ? out : undefined);
      expect(out!.shape).toEqual([...shape]);
      expect(grads.map((g) => g.shape)).toEqual([[...shape], [c], [c]]);
      // The fused ReLU is the plain kernels' batch norm clipped at 0, and its gradient theirs of dy where out > 0.
      const [plain] = forward(false);
      const masked = tf.where(tf.greater(out!, 0), dys, tf.zerosLike(dys));
      const values = (ts: tf.Tensor[]) => ts.map((t) => Array.from(t.dataSync()));
      return { fused: values([out!, mean!, variance!, ...grads]), unfused: values([relu ? tf.relu(plain!) : plain!, ...gradient(relu ? masked : dys, mean!, variance!)]) };
    });
    ['out', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'].forEach((what, i) => expectClose(fused[i]!, reference[i]!, { atol: 1e-4, rtol: 1e-4, what }));
    expect([fused[0], ...fused.slice(3)]).toEqual(unfused);
    if (relu) expect(fused[0]!.filter((v) => v === 0).length).toBeGreaterThan(fused[0]!.length / 4);
  });

  // Transposes and slices move elements: the same bits as the cpu kernels, float32, int32 and bool.
  async function allOutputs(backend: 'cpu' | 'wasm', kernel: string, x: tf.Tensor, attrs: object): Promise<{ shape: number[]; values: number[] }[]> {
    await useBackend(backend);
    const input = tf.tensor(x.dataSync(), x.shape, x.dtype);
    const result = tf.engine().runKernel(kernel, kernel === 'Unpack' ? { value: input } : { x: input }, attrs as never) as tf.Tensor | tf.Tensor[];
    const outs = Array.isArray(result) ? result : [result];
    const values = outs.map((t) => ({ shape: [...t.shape], values: Array.from(t.dataSync()) }));
    tf.dispose([input, ...outs]);
    return values;
  }

  async function expectSameBitsAsCpu(kernel: string, shape: number[], dtype: 'float32' | 'int32' | 'bool', attrs: object): Promise<void> {
    await useBackend('cpu');
    const n = shape.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: n }, (_, i) => (dtype === 'float32' ? Math.sin(i * 1.7) * 1e3 : dtype === 'int32' ? (i * 7919) % 2003 - 1000 : i % 3 === 0 ? 1 : 0));
    const x = tf.tensor(values, shape, dtype);
    const cpu = await allOutputs('cpu', kernel, x, attrs);
    const wasm = await allOutputs('wasm', kernel, x, attrs);
    await useBackend('cpu');
    x.dispose();
    expect(wasm).toEqual(cpu);
  }

  // Matrix transposes with and without remainders of the 16-column blocks and 4-row tiles, batched ones,
  // permutations that reduce to one (size-1 axes, axes that stay together), and ones that do not (tfjs's kernel).
  it.each([
    ['[37, 53] [1, 0]', [37, 53], [1, 0], 'float32'],
    ['[64, 48] [1, 0]', [64, 48], [1, 0], 'float32'],
    ['[3, 17, 21] [0, 2, 1], int32', [3, 17, 21], [0, 2, 1], 'int32'],
    ['NHWC -> NCHW [2, 5, 7, 19] [0, 3, 1, 2]', [2, 5, 7, 19], [0, 3, 1, 2], 'float32'],
    ['NCHW -> NHWC [2, 19, 5, 7] [0, 2, 3, 1]', [2, 19, 5, 7], [0, 2, 3, 1], 'float32'],
    ['size-1 axes [1, 33, 1, 18] [3, 2, 1, 0]', [1, 33, 1, 18], [3, 2, 1, 0], 'float32'],
    ['not a matrix transpose [4, 5, 6] [2, 0, 1]... is one: [20, 6] -> [6, 20]', [4, 5, 6], [2, 0, 1], 'float32'],
    ['no reduction [3, 4, 5, 6] [1, 3, 0, 2] (tfjs)', [3, 4, 5, 6], [1, 3, 0, 2], 'float32'],
    ['bool (tfjs)', [5, 7], [1, 0], 'bool'],
  ] as const)('Transpose: %s', (_name, shape, perm, dtype) => expectSameBitsAsCpu('Transpose', [...shape], dtype, { perm: [...perm] }));

  // Short runs (copied element by element), long runs (copyWithin), whole trailing axes merged into the run,
  // a contiguous block, an empty slice, -1 sizes.
  it.each([
    ['[16, 1344, 4] -> [16, 256, 4] at 1024 (SSD\'s split)', [16, 1344, 4], [0, 1024, 0], [16, 256, 4], 'float32'],
    ['runs of 1 [6, 5, 3] -> [6, 5, 1] at 2', [6, 5, 3], [0, 0, 2], [6, 5, 1], 'float32'],
    ['long runs [3, 7, 40] -> [2, 3, 33]', [3, 7, 40], [1, 2, 5], [2, 3, 33], 'float32'],
    ['rank 5, int32', [2, 3, 4, 3, 2], [1, 1, 1, 0, 0], [1, 2, 2, 3, 1], 'int32'],
    ['contiguous [5, 6, 7] -> rows 2 to 4', [5, 6, 7], [2, 0, 0], [3, 6, 7], 'float32'],
    ['empty', [4, 5], [1, 2], [0, 3], 'float32'],
    ['-1 sizes, bool', [4, 9], [1, 3], [-1, -1], 'bool'],
  ] as const)('Slice: %s', (_name, shape, begin, size, dtype) => expectSameBitsAsCpu('Slice', [...shape], dtype, { begin: [...begin], size: [...size] }));

  // Inference-mode batch norm: channels in whole SIMD lanes and not, scale and offset given or not, a
  // rank-2 input, and per-channel parameters of rank 4 (tfjs's kernel). Variances from 0.05 to 4.05.
  it.each([
    ['[16, 8, 8, 24], scale and offset', [16, 8, 8, 24], true, true, false],
    ['[4, 5, 5, 16], neither', [4, 5, 5, 16], false, false, false],
    ['[3, 7], scale only', [3, 7], true, false, false],
    ['[2, 3, 3, 8] with [1, 1, 1, 8] parameters (tfjs)', [2, 3, 3, 8], true, true, true],
  ] as const)('FusedBatchNorm: %s', async (_name, shape, withScale, withOffset, rank4) => {
    const c = shape[shape.length - 1]!;
    const param = (seed: number, lo: number) => ({ shape: rank4 ? [1, 1, 1, c] : [c], values: data([c], seed).values.map((v) => lo + 2 * (v + 0.9)) });
    const inputs: Inputs = { x: { shape: [...shape], values: data([...shape], 41).values.map((v) => 3 * v + 1) }, mean: param(42, -1), variance: param(43, 0.05) };
    if (withScale) inputs.scale = param(44, -2);
    if (withOffset) inputs.offset = param(45, -1);
    const cpu = await onBackend('cpu', 'FusedBatchNorm', inputs, { varianceEpsilon: 1e-3 });
    const wasm = await onBackend('wasm', 'FusedBatchNorm', inputs, { varianceEpsilon: 1e-3 });
    expect(wasm.shape).toEqual(cpu.shape);
    expectClose(wasm.values, cpu.values, { atol: 1e-5, rtol: 1e-6, what: 'FusedBatchNorm' });
  });

  // Repetitions of the leading axis only (one block), of the last axis only (runs of 1 to 3 elements), of
  // middle axes with a long run after them, of every axis; int32, bool, a zero repetition, no repetition.
  it.each([
    ["[1344, 4] x [16, 1] (SSD's boxes for a batch)", [1344, 4], [16, 1], 'float32'],
    ['[5, 3] x [1, 4] (short runs)', [5, 3], [1, 4], 'float32'],
    ['[2, 3, 40] x [2, 3, 1] (long runs)', [2, 3, 40], [2, 3, 1], 'float32'],
    ['[2, 3, 4, 5] x [3, 1, 2, 2], int32', [2, 3, 4, 5], [3, 1, 2, 2], 'int32'],
    ['[3, 7] x [2, 2], bool', [3, 7], [2, 2], 'bool'],
    ['[4, 5] x [1, 1] (a copy)', [4, 5], [1, 1], 'float32'],
    ['[4, 5] x [0, 2] (empty)', [4, 5], [0, 2], 'float32'],
    ['[9] x [5]', [9], [5], 'int32'],
  ] as const)('Tile: %s', (_name, shape, reps, dtype) => expectSameBitsAsCpu('Tile', [...shape], dtype, { reps: [...reps] }));

  // Sums over leading axes add in tfjs-backend-wasm's order: the bits of its own Sum (kept as the replaced
  // kernel), which tfjs-backend-cpu does not give (it adds in float64). Values spread over six decades, so
  // another order of additions changes the bits. Columns in 16s, 4s and ones; other reductions are tfjs's.
  async function sumBothWays(shape: number[], dtype: 'float32' | 'int32', attrs: { axis: number | number[]; keepDims: boolean }) {
    await useBackend('wasm');
    const n = shape.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: n }, (_, i) => (dtype === 'float32' ? Math.sin(i * 1.7) * 10 ** ((i % 7) - 3) : (i * 7919) % 2003 - 1000));
    const x = tf.tensor(values, shape, dtype);
    const ours = tf.engine().runKernel('Sum', { x }, attrs as never) as tf.Tensor;
    const config = tf.getKernel('Sum', 'wasm') as unknown as Record<symbol, KernelConfig | undefined>;
    const backend = tf.backend();
    const info = config[Symbol.for('detkit.backends.replaced')]!.kernelFunc({ inputs: { x }, attrs: attrs as never, backend }) as TensorInfo;
    const result = { ours: { shape: [...ours.shape], values: Array.from(ours.dataSync()) }, tfjs: { shape: info.shape, values: Array.from(backend.readSync(info.dataId) as Float32Array) } };
    backend.disposeData(info.dataId);
    tf.dispose([x, ours]);
    return { ...result, cpu: await onBackend('cpu', 'Sum', { x: { shape, values, dtype } }, attrs) };
  }

  it.each([
    ["[512, 256] over rows (Faster R-CNN's box head bias gradient)", [512, 256], 0, false],
    ['[8, 16, 16, 36] over N, H, W (a head bias gradient; 16 + 16 + 4 columns)', [8, 16, 16, 36], [0, 1, 2], false],
    ['[7, 5, 23] over [-3, -2], keepDims (16 + 4 + 3 columns)', [7, 5, 23], [-3, -2], true],
    ['[3, 2] over rows (no whole vector)', [3, 2], [0], false],
  ] as const)('Sum over leading axes: %s', async (_name, shape, axis, keepDims) => {
    const { ours, tfjs, cpu } = await sumBothWays([...shape], 'float32', { axis: typeof axis === 'number' ? axis : [...axis], keepDims });
    expect(ours).toEqual(tfjs);
    // tfjs-backend-cpu adds in float64: float32 sums of `terms` values up to 1e3 are within terms x 1e3 x 2^-24.
    const terms = shape.reduce((a, b) => a * b, 1) / ours.values.length;
    expect(ours.shape).toEqual(cpu.shape);
    expectClose(ours.values, cpu.values, { atol: terms * 1e3 * 2 ** -24, rtol: 0, what: 'Sum' });
  });

  it.each([
    ['trailing axis', [4, 5, 6], [2], 'float32'],
    ['a middle axis', [4, 5, 6], [1], 'float32'],
    ['axes 0 and 2', [4, 5, 6], [0, 2], 'float32'],
    ['every axis', [4, 5, 6], [0, 1, 2], 'float32'],
    ['int32 over rows', [6, 5], [0], 'int32'],
  ] as const)("Sum keeps tfjs's kernel: %s", async (_name, shape, axis, dtype) => {
    const { ours, tfjs } = await sumBothWays([...shape], dtype, { axis: [...axis], keepDims: false });
    expect(ours).toEqual(tfjs);
  });

  it('Sum over the rows of an empty matrix is zeros, as on cpu', async () => {
    const cpu = await onBackend('cpu', 'Sum', { x: { shape: [0, 5], values: [] } }, { axis: 0, keepDims: false });
    const wasm = await onBackend('wasm', 'Sum', { x: { shape: [0, 5], values: [] } }, { axis: 0, keepDims: false });
    expect(wasm).toEqual(cpu);
    expect(wasm.values).toEqual([0, 0, 0, 0, 0]);
  });

  it.each([
    ['SplitV [16, 1344, 4] into 1024, 256, 64 on axis 1', 'SplitV', [16, 1344, 4], { numOrSizeSplits: [1024, 256, 64], axis: 1 }],
    ['SplitV [6, 10] into 3 on axis -1', 'SplitV', [6, 10], { numOrSizeSplits: [3, -1, 2], axis: -1 }],
    ['Unpack [7, 4] on axis 1 (one element per run)', 'Unpack', [7, 4], { axis: 1 }],
    ['Unpack [3, 5, 2] on axis 0', 'Unpack', [3, 5, 2], { axis: 0 }],
  ] as const)('%s', (_name, kernel, shape, attrs) => expectSameBitsAsCpu(kernel, [...shape], 'float32', attrs));
});
