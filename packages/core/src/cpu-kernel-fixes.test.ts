import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from './backend';
import { stockCpuKernel } from './cpu-kernel-fixes';
import { registerCpuKernelFixes, tf } from './index';

/** A fixed-seed uniform(-1, 1) tensor. */
function random(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

/** tfjs-backend-cpu's own kernel (before detkit replaced it) on the same inputs, as a host array. */
function stock(kernelName: string, inputs: Record<string, tf.Tensor>, attrs: object): Float32Array {
  const kernel = stockCpuKernel(kernelName)!;
  const backend = tf.backend() as unknown as { data: { get(id: object): { values: Float32Array } }; disposeData(id: object): void };
  const out = kernel({ inputs, attrs: attrs as NamedAttrMap, backend: tf.backend() }) as TensorInfo;
  const values = Float32Array.from(backend.data.get(out.dataId).values);
  backend.disposeData(out.dataId);
  return values;
}

/** Within 1e-4 of `want`, relative to max(1, |want|), as the conformance suite compares backends. */
function expectMatches(got: tf.Tensor, want: Float32Array, what: string): void {
  const values = got.dataSync();
  expect(values.length, what).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(values[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
  expect(worst, what).toBeLessThan(1e-4);
}

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

interface ConvShape {
  n: number;
  h: number;
  w: number;
  c: number;
  kh: number;
  kw: number;
  out: number;
  stride: number | [number, number];
  pad: Pad;
}

const CONV_SHAPES: ConvShape[] = [
  { n: 2, h: 9, w: 7, c: 3, kh: 3, kw: 3, out: 5, stride: 1, pad: 'same' },
  { n: 1, h: 10, w: 10, c: 6, kh: 3, kw: 3, out: 8, stride: 2, pad: 'same' },
  { n: 2, h: 11, w: 8, c: 5, kh: 3, kw: 2, out: 7, stride: 2, pad: 'valid' },
  { n: 1, h: 8, w: 9, c: 9, kh: 1, kw: 1, out: 4, stride: 1, pad: 'valid' },
  { n: 2, h: 7, w: 7, c: 4, kh: 5, kw: 5, out: 3, stride: [2, 1], pad: 'same' },
  { n: 1, h: 6, w: 8, c: 2, kh: 3, kw: 3, out: 6, stride: 2, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { n: 1, h: 5, w: 5, c: 40, kh: 3, kw: 3, out: 600, stride: 1, pad: 'same' }, // > one cache block of input channels
];

function label(s: ConvShape): string {
  return `${s.n}x${s.h}x${s.w}x${s.c} ${s.kh}x${s.kw}->${s.out} stride ${String(s.stride)} pad ${JSON.stringify(s.pad)}`;
}

describe('cpu convolution gradients: detkit vs tfjs-backend-cpu 4.22', () => {
  beforeAll(async () => {
    await setupBackend('cpu');
  });

  it('registering the fixes again is a no-op', () => {
    expect(registerCpuKernelFixes()).toEqual([]);
    expect(stockCpuKernel('Conv2DBackpropFilter')).not.toBe(tf.getKernel('Conv2DBackpropFilter', 'cpu')!.kernelFunc);
  });

  for (const s of CONV_SHAPES) {
    it(`conv2d ${label(s)}: forward, filter and input gradients`, () => {
      const before = tf.memory().numTensors;
      const x = random([s.n, s.h, s.w, s.c], 1);
      const f = random([s.kh, s.kw, s.c, s.out], 2);
      const y = tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, s.stride, s.pad);
      const dy = random(y.shape, 3);
      const attrs = { strides: s.stride, pad: s.pad, dataFormat: 'NHWC' };
      expectMatches(y, stock('Conv2D', { x, filter: f }, { ...attrs, dilations: 1 }), 'forward');
      const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: f.shape }) as tf.Tensor;
      expectMatches(dw, stock('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: f.shape }), 'filter gradient');
      const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, { ...attrs, inputShape: x.shape }) as tf.Tensor;
      expect(dx.shape).toEqual(x.shape);
      expectMatches(dx, stock('Conv2DBackpropInput', { dy, filter: f }, { ...attrs, inputShape: x.shape }), 'input gradient');
      tf.dispose([x, f, y, dy, dw, dx]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  for (const [s, m] of [[CONV_SHAPES[0]!, 1], [CONV_SHAPES[1]!, 2], [CONV_SHAPES[2]!, 1], [CONV_SHAPES[4]!, 3]] as const) {
    it(`depthwise conv2d ${label(s)} multiplier ${m}: filter and input gradients`, () => {
      const before = tf.memory().numTensors;
      const x = random([s.n, s.h, s.w, s.c], 4);
      const f = random([s.kh, s.kw, s.c, m], 5);
      const y = tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, s.stride, s.pad);
      const dy = random(y.shape, 6);
      const attrs = { strides: s.stride, pad: s.pad, dilations: 1 };
      const dw = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: f.shape }) as tf.Tensor;
      expectMatches(dw, stock('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: f.shape }), 'filter gradient');
      const dx = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: f }, { ...attrs, inputShape: x.shape }) as tf.Tensor;
      expectMatches(dx, stock('DepthwiseConv2dNativeBackpropInput', { dy, filter: f }, { ...attrs, inputShape: x.shape }), 'input gradient');
      tf.dispose([x, f, y, dy, dw, dx]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('conv2d forward with dilations 2 and (2, 1) matches tfjs-backend-cpu', () => {
    const x = random([2, 9, 8, 5], 16);
    const f = random([3, 3, 5, 6], 17);
    for (const [dilations, pad] of [[2, 'same'], [[2, 1], 'valid']] as const) {
      const y = tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, pad, 'NHWC', dilations as [number, number]);
      expectMatches(y, stock('Conv2D', { x, filter: f }, { strides: 1, pad, dataFormat: 'NHWC', dilations }), `dilations ${String(dilations)}`);
      y.dispose();
    }
    tf.dispose([x, f]);
  });

  it('dilations > 1 and NCHW keep tfjs-backend-cpu kernels (same results)', () => {
    const x = random([1, 9, 9, 4], 7);
    const f = random([3, 3, 4, 1], 8);
    const dy = random([1, 9, 9, 4], 9);
    const attrs = { strides: 1, pad: 'same', dilations: 2, filterShape: f.shape };
    const dw = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, attrs) as tf.Tensor;
    expect(Array.from(dw.dataSync())).toEqual(Array.from(stock('DepthwiseConv2dNativeBackpropFilter', { x, dy }, attrs)));
    const xc = random([1, 3, 6, 6], 10);
    const fc = random([3, 3, 3, 2], 11);
    const dyc = random([1, 2, 6, 6], 12);
    const nchw = { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: fc.shape };
    const dwc = tf.engine().runKernel('Conv2DBackpropFilter', { x: xc, dy: dyc }, nchw) as tf.Tensor;
    expect(Array.from(dwc.dataSync())).toEqual(Array.from(stock('Conv2DBackpropFilter', { x: xc, dy: dyc }, nchw)));
    tf.dispose([x, f, dy, dw, xc, fc, dyc, dwc]);
  });

  it('tf.grad of a strided conv2d matches a naive reference', () => {
    // dL/dW for L = sum(conv2d(x, W) * g), written out as loops over the definition.
    const [n, h, w, c, k, o, s] = [1, 5, 6, 2, 3, 3, 2];
    const x = random([n, h, w, c], 13);
    const f = random([k, k, c, o], 14);
    const oh = Math.ceil(h / s);
    const ow = Math.ceil(w / s);
    const g = random([n, oh, ow, o], 15);
    const dw = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, t as tf.Tensor4D, s, 'same'), g)))(f);
    const xv = x.dataSync();
    const gv = g.dataSync();
    const padTop = Math.floor(Math.max((oh - 1) * s + k - h, 0) / 2);
    const padLeft = Math.floor(Math.max((ow - 1) * s + k - w, 0) / 2);
    const want = new Float32Array(k * k * c * o);
    for (let yr = 0; yr < oh; yr++) for (let yc = 0; yc < ow; yc++) for (let wr = 0; wr < k; wr++) for (let wc = 0; wc < k; wc++) {
      const xr = yr * s + wr - padTop;
      const xc = yc * s + wc - padLeft;
      if (xr < 0 || xr >= h || xc < 0 || xc >= w) continue;
      for (let ci = 0; ci < c; ci++) for (let oi = 0; oi < o; oi++) want[((wr * k + wc) * c + ci) * o + oi]! += xv[(xr * w + xc) * c + ci]! * gv[(yr * ow + yc) * o + oi]!;
    }
    expectMatches(dw, want, 'filter gradient');
    tf.dispose([x, f, g, dw]);
  });
});
