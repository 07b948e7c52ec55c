/**
 * Fused typed-array kernels: one function over flat typed arrays that detkit registers, through tfjs's
 * kernel registry, for the backends whose tensors live in CPU-addressable memory (`cpu`: JS typed arrays;
 * `wasm`: the module's heap). The kernel reads its inputs where they already are and writes its outputs
 * straight into backend-owned memory, so a whole op runs without intermediate tensors or copies.
 *
 * On any other backend (webgl, webgpu, tensorflow) {@link runTypedArrayKernel} runs the same function
 * over downloaded copies and uploads the results, so every backend gives identical numbers; ops that
 * have a good GPU formulation instead dispatch to an op composition there (see `hasTypedArrayPath`).
 */
import type { TensorInfo, KernelBackend, DataId, NamedAttrMap } from '@tensorflow/tfjs-core';
import { tf } from './tf';

/**
 * A wasm module's linear memory with an allocator: tfjs-backend-wasm's heap, or a private one. Declared
 * here, where {@link KernelContext} hands it to kernels; `wasm-kernels.ts` runs modules in it.
 */
export interface WasmHeap {
  readonly memory: WebAssembly.Memory;
  /** Allocates `bytes` (16-byte aligned) and returns the byte offset. */
  malloc(bytes: number): number;
  free(pointer: number): void;
}

/** Dtypes a typed-array kernel may read or write. */
export type KernelDtype = 'float32' | 'int32';
/** The array type backing a {@link KernelDtype}. */
export type KernelArray = Float32Array | Int32Array;

/** A kernel input: its shape and a view of its values where they live. */
export interface KernelInput {
  readonly shape: readonly number[];
  readonly dtype: KernelDtype;
  /**
   * The values, as a view into backend memory (do not write). On wasm an allocation may move the heap;
   * a run during which it moved is repeated (kernels are pure), so a view taken before `ctx.output(...)`
   * is safe, but reading `values` after the last allocation avoids the second run.
   */
  readonly values: KernelArray;
}

/** A kernel output allocated in backend memory. Read `values` after the last allocation. */
export interface KernelOutput {
  readonly shape: readonly number[];
  readonly dtype: KernelDtype;
  readonly values: KernelArray;
}

/** What a kernel uses to create its outputs. */
export interface KernelContext {
  /** Allocates an output of a known shape (contents unspecified: write every element). */
  output(shape: readonly number[], dtype: KernelDtype): KernelOutput;
  /** Wraps data-dependent results computed into a JS array (copied into backend memory where needed). */
  outputFrom(values: KernelArray, shape: readonly number[]): KernelOutput;
  /**
   * On the wasm backend: tfjs's heap, where the inputs and outputs live (their views' `byteOffset` is
   * their address), for wasm kernels to run in place (see `callWasmKernel`). Undefined elsewhere.
   */
  readonly heap?: WasmHeap;
}

/** A fused kernel over typed arrays. `compute` must be pure: same inputs, same outputs, any backend. */
export interface TypedArrayKernel<Attrs extends object = object> {
  /** Kernel name in tfjs's registry, prefixed `Detkit`. */
  readonly kernelName: string;
  /** Names of the inputs, in the order `compute` receives them. */
  readonly inputNames: readonly string[];
  compute(inputs: readonly KernelInput[], attrs: Attrs, ctx: KernelContext): KernelOutput[];
}

/** Backends whose tensor memory a typed-array kernel can address in place. */
const IN_PLACE_BACKENDS = ['cpu', 'wasm'] as const;
type InPlaceBackend = (typeof IN_PLACE_BACKENDS)[number];

interface CpuLikeBackend extends KernelBackend {
  data: { get(dataId: DataId): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: KernelDtype, values: KernelArray): TensorInfo;
}
interface WasmLikeBackend extends KernelBackend {
  makeOutput(shape: number[], dtype: KernelDtype): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): KernelArray;
  wasm: {
    asm?: { memory?: WebAssembly.Memory };
    wasmMemory?: WebAssembly.Memory;
    _malloc(bytes: number): number;
    _free(pointer: number): void;
  };
}

const heaps = new WeakMap<object, WasmHeap | null>();

/**
 * tfjs-backend-wasm's heap as a {@link WasmHeap}, or undefined when its memory is not reachable. The
 * threaded build's shared memory is used as well ({@link defineWasmModule} compiles a shared-memory variant).
 */
function tfjsHeap(backend: WasmLikeBackend): WasmHeap | undefined {
  let heap = heaps.get(backend);
  if (heap === undefined) {
    const memory = backend.wasm.asm?.memory ?? backend.wasm.wasmMemory;
    const usable = memory instanceof WebAssembly.Memory;
    heap = usable
      ? {
          memory,
          malloc: (bytes) => backend.wasm._malloc(bytes),
          free: (pointer) => backend.wasm._free(pointer),
        }
      : null;
    heaps.set(backend, heap);
  }
  return heap ?? undefined;
}

function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function asDtype(dtype: string): KernelDtype {
  if (dtype === 'float32' || dtype === 'int32') return dtype;
  throw new TypeError(`typed-array kernels take float32 or int32 tensors, got ${dtype}`);
}

function emptyArray(dtype: KernelDtype, n: number): KernelArray {
  return dtype === 'float32' ? new Float32Array(n) : new Int32Array(n);
}

interface Bridge {
  input(info: TensorInfo): KernelInput;
  context: KernelContext;
  infoOf(output: KernelOutput): TensorInfo;
}

const INFO = Symbol('detkit.kernelOutputInfo');
type OutputWithInfo = KernelOutput & { [INFO]: TensorInfo };

function cpuBridge(backend: CpuLikeBackend): Bridge {
  const wrap = (info: TensorInfo, values: KernelArray): OutputWithInfo => ({
    shape: info.shape,
    dtype: asDtype(info.dtype),
    values,
    [INFO]: info,
  });
  return {
    input(info) {
      const dtype = asDtype(info.dtype);
      let values = backend.data.get(info.dataId).values as KernelArray;
      // tfjs-backend-cpu's Cast between int32 and float32 may keep the source array (an int32 tensor cast
      // to float32 still holds an Int32Array): hand kernels the array type their dtype promises.
      if (dtype === 'float32' && !(values instanceof Float32Array)) values = Float32Array.from(values);
      else if (dtype === 'int32' && !(values instanceof Int32Array)) values = Int32Array.from(values);
      return { shape: info.shape, dtype, values };
    },
    context: {
      output(shape, dtype) {
        const values = emptyArray(dtype, size(shape));
        return wrap(backend.makeTensorInfo([...shape], dtype, values), values);
      },
      outputFrom(values, shape) {
        const dtype: KernelDtype = values instanceof Float32Array ? 'float32' : 'int32';
        return wrap(backend.makeTensorInfo([...shape], dtype, values), values);
      },
    },
    infoOf: (o) => (o as OutputWithInfo)[INFO],
  };
}

/**
 * A tensor on tfjs-backend-wasm's heap as a kernel sees it: `values` is a fresh view each time it is read
 * (the heap may have grown since). A class, not an object literal with a getter: every view has one shape
 * and one getter, so V8's optimized kernels do not deoptimize on each call's new getter closure.
 */
class HeapView implements OutputWithInfo {
  readonly shape: readonly number[];
  readonly dtype: KernelDtype;
  readonly [INFO]: TensorInfo;
  constructor(
    private readonly backend: WasmLikeBackend,
    info: TensorInfo,
  ) {
    this.shape = info.shape;
    this.dtype = asDtype(info.dtype);
    this[INFO] = info;
  }
  get values(): KernelArray {
    return this.backend.typedArrayFromHeap(this[INFO]);
  }
}

function wasmBridge(backend: WasmLikeBackend, allocated: TensorInfo[] = []): Bridge {
  const view = (info: TensorInfo): OutputWithInfo => new HeapView(backend, info);
  return {
    input(info) {
      return view(info);
    },
    context: {
      output(shape, dtype) {
        const info = backend.makeOutput([...shape], dtype);
        allocated.push(info);
        return view(info);
      },
      outputFrom(values, shape) {
        const dtype: KernelDtype = values instanceof Float32Array ? 'float32' : 'int32';
        const info = backend.makeOutput([...shape], dtype);
        allocated.push(info);
        const out = view(info);
        if (values.length > 0) out.values.set(values);
        return out;
      },
      heap: tfjsHeap(backend),
    },
    infoOf: (o) => (o as OutputWithInfo)[INFO],
  };
}

function bridgeFor(backendName: InPlaceBackend, backend: KernelBackend): Bridge {
  return backendName === 'cpu'
    ? cpuBridge(backend as CpuLikeBackend)
    : wasmBridge(backend as WasmLikeBackend);
}

function register(kernel: TypedArrayKernel<object>, backendName: InPlaceBackend): void {
  if (tf.getKernel(kernel.kernelName, backendName) !== undefined) return;
  tf.registerKernel({
    kernelName: kernel.kernelName,
    backendName,
    kernelFunc: ({ inputs, attrs, backend }) => {
      const run = (bridge: Bridge): TensorInfo[] => {
        const ins = kernel.inputNames.map((name) => {
          const info = inputs[name];
          if (info === undefined) throw new TypeError(`${kernel.kernelName}: missing input '${name}'`);
          return bridge.input(info);
        });
        return kernel.compute(ins, attrs as object, bridge.context).map((o) => bridge.infoOf(o));
      };
      const outs = backendName === 'wasm' ? runOnStableHeap(backend as WasmLikeBackend, run) : run(bridgeFor(backendName, backend as KernelBackend));
      return outs.length === 1 ? (outs[0] as TensorInfo) : outs;
    },
  });
}

/**
 * Runs a kernel on tfjs-backend-wasm until its heap stays put for a whole run. An output allocation may grow
 * the heap, and growing a (non-shared) WebAssembly memory detaches every view of the old buffer: a kernel
 * that took an input's `values` before its last `ctx.output` would read a detached view (no elements:
 * NaN) or write into one (lost). The kernels are pure, so a run during which the heap moved is discarded
 * (its outputs freed) and repeated; the heap now has room, so the next run allocates without growing.
 */
function runOnStableHeap(backend: WasmLikeBackend, run: (bridge: Bridge) => TensorInfo[]): TensorInfo[] {
  const memory = tfjsHeap(backend)?.memory;
  for (let attempt = 1; ; attempt++) {
    const allocated: TensorInfo[] = [];
    const before = memory?.buffer;
    const outs = run(wasmBridge(backend, allocated));
    if (memory === undefined || memory.buffer === before || attempt === 3) return outs;
    for (const info of allocated) backend.disposeData(info.dataId, true);
  }
}

/** True when the active backend runs typed-array kernels in place (cpu, wasm). */
export function hasTypedArrayPath(): boolean {
  return (IN_PLACE_BACKENDS as readonly string[]).includes(tf.getBackend());
}

/**
 * True when {@link runTypedArrayKernel} runs `kernel` without a download on the active backend: on cpu and
 * wasm, and where a backend kernel of the same name is registered (@detkit/backends' WGSL kernels on webgpu).
 */
export function hasFusedKernel(kernel: Pick<TypedArrayKernel, 'kernelName'>): boolean {
  const backendName = tf.getBackend();
  return (IN_PLACE_BACKENDS as readonly string[]).includes(backendName) || tf.getKernel(kernel.kernelName, backendName) !== undefined;
}

/**
 * Runs `kernel` on `inputs` (tensors, in `kernel.inputNames` order) with `attrs`, on the active backend.
 * On cpu and wasm the kernel is registered on first use and dispatched through tfjs's engine, so it shows
 * in `tf.profile` like any built-in kernel. Elsewhere it runs over downloaded copies (a sync read).
 * Returns the outputs as tensors, in the order `compute` returns them.
 */
export function runTypedArrayKernel<Attrs extends object>(
  kernel: TypedArrayKernel<Attrs>,
  inputs: readonly tf.Tensor[],
  attrs: Attrs,
): tf.Tensor[] {
  const backendName = tf.getBackend();
  const inPlace = (IN_PLACE_BACKENDS as readonly string[]).includes(backendName);
  // A kernel registered for this backend under the same name (@detkit/backends' WGSL kernels on webgpu)
  // runs through the engine, on the device, like the in-place ones.
  if (inPlace || tf.getKernel(kernel.kernelName, backendName) !== undefined) {
    if (inPlace) register(kernel as TypedArrayKernel<object>, backendName as InPlaceBackend);
    const named: Record<string, tf.Tensor> = {};
    kernel.inputNames.forEach((name, i) => {
      named[name] = inputs[i] as tf.Tensor;
    });
    const result = tf.engine().runKernel(kernel.kernelName, named, attrs as unknown as NamedAttrMap);
    return Array.isArray(result) ? result : [result as tf.Tensor];
  }
  // Download path: same arithmetic over copies, results uploaded to the active backend.
  const ins: KernelInput[] = inputs.map((t) => ({
    shape: t.shape,
    dtype: asDtype(t.dtype),
    values: t.dataSync() as KernelArray,
  }));
  const plain: KernelContext = {
    output: (shape, dtype) => ({ shape, dtype, values: emptyArray(dtype, size(shape)) }),
    outputFrom: (values, shape) => ({
      shape,
      dtype: values instanceof Float32Array ? 'float32' : 'int32',
      values,
    }),
  };
  return kernel
    .compute(ins, attrs, plain)
    .map((o) => tf.tensor(o.values, [...o.shape], o.dtype));
}

/**
 * Reads a tensor's values without copying when the active backend keeps them in CPU-addressable memory
 * (a view: do not write, and do not keep it across tfjs calls), else through a sync download.
 */
export function peekValues(t: tf.Tensor): KernelArray {
  const backendName = tf.getBackend();
  const owner = (tf.engine() as unknown as { state: { tensorInfo: { get(id: DataId): { backend: KernelBackend } | undefined } } })
    .state.tensorInfo.get(t.dataId)?.backend;
  const active = tf.backend() as unknown as KernelBackend;
  if (owner !== undefined && owner === active && (backendName === 'cpu' || backendName === 'wasm')) {
    return bridgeFor(backendName, active).input(t).values;
  }
  return t.dataSync() as KernelArray;
}

/**
 * Names of the fused training-mode batch-norm kernels (forward and gradient) in tfjs's registry, which
 * @detkit/backends registers for wasm and @detkit/models' `batchNormTrain` uses where the active backend has
 * them (elsewhere it runs tfjs's op chain). Forward: inputs `x` [..., C], `gamma` [C], `beta` [C], attrs
 * `epsilon` and optional `relu` (a ReLU after the batch norm, fused); outputs `out`, `mean` [C], `variance`
 * [C] (biased). Gradient: inputs `dy`, `x`, `mean`, `variance`, `gamma` and, after a forward with `relu`,
 * `y` (its `out`: dy counts where y > 0), attr `epsilon`; outputs `dx`, `dgamma` [C], `dbeta` [C]. torch's
 * `batch_norm` / `batch_norm_backward` in training mode.
 */
export const BATCH_NORM_TRAIN_KERNELS = { forward: 'DetkitBatchNormTrain', gradient: 'DetkitBatchNormTrainGrad' } as const;

/**
 * Name of the fused Adam update kernel in tfjs's registry, which @detkit/backends registers for wasm and
 * @detkit/models' `adam` optimizer uses where the active backend has it (elsewhere tfjs's Adam op chain runs).
 * Inputs `value`, `m`, `v`, `gradient` (float32, one shape); attrs `beta1`, `beta2`, `oneMinusBeta1`,
 * `oneMinusBeta2`, `oneMinusAccBeta1`, `oneMinusAccBeta2` (1 - beta^t), `epsilon`, `negLearningRate`;
 * outputs the new `value`, `m`, `v`. Per element, in float32 with tfjs's `AdamOptimizer.applyGradients`' order of
 * operations: m' = m β1 + g (1 - β1), v' = v β2 + g² (1 - β2),
 * value' = (m' / (1 - β1^t)) / (sqrt(v' / (1 - β2^t)) + ε) (-lr) + value (Kingma & Ba 2015, Algorithm 1).
 */
export const ADAM_KERNEL = 'DetkitAdam';

/**
 * Name of the moving-statistic update kernel in tfjs's registry, which @detkit/backends registers for wasm and
 * @detkit/models' batch norm uses for its moving mean and variance where the active backend has it
 * (elsewhere `tf.add(tf.mul(moving, decay), tf.mul(batch, factor))`). Inputs `moving`, `batch` (float32, one
 * shape); attrs `decay`, `factor`; output moving · decay + batch · factor, each product and the sum rounded
 * to float32 as that op chain rounds them (decay and factor float32 scalars), so the same bits. One kernel
 * instead of three; on wasm it queues behind the batch norm that made `batch` when the pass runs ahead.
 */
export const MOVING_AVERAGE_KERNEL = 'DetkitMovingAverage';

/**
 * Name of the ReLU-gradient kernel in tfjs's registry, which @detkit/backends registers for wasm and
 * @detkit/heads' fused layers (convolution or dense + bias + ReLU) use in their gradient where the active
 * backend has it (elsewhere `tf.where(tf.greater(y, 0), dy, tf.zerosLike(dy))`). Inputs `dy` and `y` (the
 * ReLU's output; float32, one shape); output dy where y > 0, else 0: torch's `threshold_backward(dy, y, 0)`,
 * which `relu`'s autograd formula calls with the result. One kernel instead of tfjs's `Step` and `Multiply`
 * (whose product makes -0 or NaN where a masked dy is negative or infinite); on wasm it queues behind the
 * calls that made dy when the pass runs ahead.
 */
export const RELU_GRAD_KERNEL = 'DetkitReluGrad';
