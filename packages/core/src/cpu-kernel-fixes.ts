// Imports tfjs-core directly (not ./tf): tf.ts calls registerCpuKernelFixes() while it sets tfjs up.
import * as tf from '@tensorflow/tfjs-core';
import type { DataId, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { conv2dFilterGrad, conv2dForward, conv2dInputGrad, depthwiseFilterGrad, depthwiseInputGrad } from './cpu-conv-kernels';

/**
 * Marks a tfjs-backend-cpu kernel config that @detkit/core's {@link registerCpuKernelFixes} registered in
 * place of tfjs's own. A `Symbol.for` key, so a second copy of @detkit/core in the same process sees the
 * mark and does not wrap the kernel again.
 */
const CORE_CPU_KERNEL_FIX = Symbol.for('detkit.core.cpuKernelFix');
/** On a config marked {@link CORE_CPU_KERNEL_FIX}: tfjs's own kernel function that it replaced. */
const STOCK = Symbol.for('detkit.core.stockCpuKernel');

type Fixed = KernelConfig & { [CORE_CPU_KERNEL_FIX]?: true; [STOCK]?: KernelFunc };

interface CpuBackend {
  data: { get(dataId: DataId): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: string, values: ArrayLike<number>): TensorInfo;
}

type Values = Float32Array | Int32Array | Uint8Array;

function valuesOf(backend: CpuBackend, info: TensorInfo): Values {
  return backend.data.get(info.dataId).values as Values;
}

function wrap(kernelName: string, fix: (original: KernelFunc) => KernelFunc): boolean {
  const original = tf.getKernel(kernelName, 'cpu') as Fixed | undefined;
  if (original === undefined || original[CORE_CPU_KERNEL_FIX]) return false;
  tf.unregisterKernel(kernelName, 'cpu');
  tf.registerKernel({ ...original, [CORE_CPU_KERNEL_FIX]: true, [STOCK]: original.kernelFunc, kernelFunc: fix(original.kernelFunc) } as KernelConfig);
  return true;
}

/**
 * tfjs-backend-cpu's own kernel function for `kernelName`, as it was before {@link registerCpuKernelFixes}
 * replaced it (the registered one when it was not replaced; undefined when none is registered). For tests
 * that check detkit's cpu kernels against tfjs's.
 */
export function stockCpuKernel(kernelName: string): KernelFunc | undefined {
  const config = tf.getKernel(kernelName, 'cpu') as Fixed | undefined;
  return config?.[STOCK] ?? config?.kernelFunc;
}

type Padding = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
interface ConvBackpropAttrs {
  strides: number | [number, number];
  pad: Padding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: number | [number, number];
}

function convInfo(inShape: readonly number[], filterShape: readonly number[], a: ConvBackpropAttrs, depthwise: boolean): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    [...inShape] as [number, number, number, number],
    [...filterShape] as [number, number, number, number],
    a.strides,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
    depthwise,
    'channelsLast',
  );
}

/** The fast path takes NHWC float32 tensors with dilation 1 (the only case tfjs differentiates); the rest stays stock. */
function fastPathApplies(a: ConvBackpropAttrs, ...tensors: TensorInfo[]): boolean {
  const dilations = a.dilations ?? 1;
  const unit = typeof dilations === 'number' ? dilations === 1 : dilations.every((d) => d === 1);
  return a.dataFormat !== 'NCHW' && unit && tensors.every((t) => t.dtype === 'float32');
}

/** A conv gradient over flat NHWC arrays (see cpu-conv-kernels.ts). */
type ConvGradient = (a: Values, b: Values, info: tf.backend_util.Conv2DInfo) => Float32Array;

/** `Conv2DBackpropFilter` / `DepthwiseConv2dNativeBackpropFilter`: dW [filterShape] from x and dy. */
function filterGradient(compute: ConvGradient, depthwise: boolean): (original: KernelFunc) => KernelFunc {
  return (original) => (args) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const a = args.attrs as unknown as ConvBackpropAttrs & { filterShape: number[] };
    if (!fastPathApplies(a, x, dy)) return original(args);
    const backend = args.backend as unknown as CpuBackend;
    const dw = compute(valuesOf(backend, x), valuesOf(backend, dy), convInfo(x.shape, a.filterShape, a, depthwise));
    return backend.makeTensorInfo([...a.filterShape], 'float32', dw);
  };
}

/** `Conv2DBackpropInput` / `DepthwiseConv2dNativeBackpropInput`: dx [inputShape] from dy and the filter. */
function inputGradient(compute: ConvGradient, depthwise: boolean): (original: KernelFunc) => KernelFunc {
  return (original) => (args) => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as ConvBackpropAttrs & { inputShape: number[] };
    if (!fastPathApplies(a, dy, filter)) return original(args);
    const backend = args.backend as unknown as CpuBackend;
    const dx = compute(valuesOf(backend, dy), valuesOf(backend, filter), convInfo(a.inputShape, filter.shape, a, depthwise));
    return backend.makeTensorInfo([...a.inputShape], 'float32', dx);
  };
}

/**
 * Fixes tfjs-backend-cpu 4.22 kernels that break training or backend switches, or make training hopelessly
 * slow:
 * - `Conv2DBackpropFilter`, `Conv2DBackpropInput`, `DepthwiseConv2dNativeBackpropFilter` and
 *   `DepthwiseConv2dNativeBackpropInput` (NHWC, float32, dilation 1) run as cache-blocked loops over
 *   Float32Arrays instead of reading every element through `TensorBuffer.get`: the filter gradient of one
 *   3x3 layer goes from seconds (up to a minute) to a fraction of a second. `Conv2D` (NHWC, float32, any
 *   dilation) runs the same way, about three times faster than tfjs's loop. Same results within float32
 *   rounding (sums in float64, as tfjs's); other layouts keep tfjs's kernels. (`FusedConv2D` calls tfjs's
 *   own conv2d internally and is unchanged.)
 * - `ResizeBilinearGrad` returns its (correctly laid out) gradient with height and width swapped in the
 *   shape, so `tf.image.resizeBilinear`'s gradient throws for any non-square image. The fix restores the
 *   shape of the resized input.
 * - `Cast` from bool or int32 to float32 returns a tensor sharing the input's data (a Uint8Array or
 *   Int32Array). tfjs tracks one dtype per data buffer, so when such a tensor later moves to the wasm
 *   backend (first use after a switch), it moves as bool or int32 bytes and the float32 tensor reads
 *   garbage there: a 0/1 mask made by `tf.cast` on cpu turns into ~1e-45 on wasm. The fix gives the cast
 *   its own Float32Array.
 *
 * Importing `@detkit/core` calls this (and `useBackend` again). Idempotent; returns the names of the
 * kernels it wrapped now. {@link stockCpuKernel} still reaches tfjs's originals.
 */
export function registerCpuKernelFixes(): string[] {
  const fixed: string[] = [];
  const add = (name: string, fix: (original: KernelFunc) => KernelFunc) => {
    if (wrap(name, fix)) fixed.push(name);
  };
  add('Conv2D', (original) => (args) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as ConvBackpropAttrs;
    if (a.dataFormat === 'NCHW' || x.dtype !== 'float32' || filter.dtype !== 'float32') return original(args);
    const backend = args.backend as unknown as CpuBackend;
    const info = convInfo(x.shape, filter.shape, a, false);
    return backend.makeTensorInfo([...info.outShape], 'float32', conv2dForward(valuesOf(backend, x), valuesOf(backend, filter), info));
  });
  add('Conv2DBackpropFilter', filterGradient(conv2dFilterGrad, false));
  add('Conv2DBackpropInput', inputGradient(conv2dInputGrad, false));
  add('DepthwiseConv2dNativeBackpropFilter', filterGradient(depthwiseFilterGrad, true));
  add('DepthwiseConv2dNativeBackpropInput', inputGradient(depthwiseInputGrad, true));
  add('ResizeBilinearGrad', (original) => (args) => {
    const out = original(args) as TensorInfo;
    out.shape = [...(args.inputs as { images: TensorInfo }).images.shape];
    return out;
  });
  add('Cast', (original) => (args) => {
    const x = (args.inputs as { x: TensorInfo }).x;
    const { dtype } = args.attrs as unknown as { dtype: string };
    if (dtype !== 'float32' || (x.dtype !== 'bool' && x.dtype !== 'int32')) return original(args);
    const backend = args.backend as unknown as CpuBackend;
    return backend.makeTensorInfo([...x.shape], 'float32', Float32Array.from(backend.data.get(x.dataId).values));
  });
  return fixed;
}
