/**
 * Data-parallel training on every core of one machine (Node): N replicas of a model, each in its own
 * worker thread on a one-thread wasm backend, each computing the gradients of its shard of the batch;
 * the gradients are averaged through a SharedArrayBuffer and every replica applies the same update, so
 * the replicas' weights stay identical. PyTorch's DistributedDataParallel semantics (Li et al. 2020), on
 * worker_threads instead of processes:
 * - the gradient applied is the mean over replicas of each replica's gradient of its own shard's loss
 *   (equal to the whole batch's gradient when the loss is a mean over images and the shards are equal,
 *   not when it normalises by a count over the batch, such as SSD's positives);
 * - batch norm normalises with each replica's own shard statistics (not the whole batch's), and the
 *   moving statistics that count are replica 0's (DDP's `broadcast_buffers`: those {@link DataParallel.getState}
 *   returns and {@link DataParallel.setState} sets everywhere);
 * - replica 0's initial weights are copied to the others before the first step.
 *
 * The replica module is an ES module, run as each worker's entry, that calls {@link runReplica} with a
 * setup function; `startDataParallel({ module })` points at it.
 */
import { DetkitError, InvalidArgumentError, tf } from '@detkit/core';
import type * as NodeWorkerThreads from 'node:worker_threads';
import { useBackend } from './use-backend';

/** What a replica's setup receives. */
export interface ReplicaContext<Options = unknown> {
  /** This replica's index, 0 to replicas - 1. */
  readonly rank: number;
  /** How many replicas train together. */
  readonly replicas: number;
  /** `startDataParallel`'s `options`, structured-cloned. */
  readonly options: Options;
}

/** One replica: its model's variables, its optimizer and its shard's loss. */
export interface Replica<Shard = unknown> {
  /** The trainable variables, in the same order and with the same shapes in every replica. */
  variables: tf.Variable[];
  /**
   * Variables updated outside the gradient (batch norm's moving statistics), in the same order in every
   * replica: replica 0's are the ones {@link DataParallel.getState} reports. Default none.
   */
  buffers?: tf.Variable[];
  /** The optimizer every replica applies the averaged gradients with (the same kind and settings). */
  optimizer: tf.Optimizer;
  /** The scalar loss of one shard, computed under the gradient tape. */
  loss(shard: Shard): tf.Scalar;
  /**
   * This replica's own state outside its tensors (a sampler's random-number generator, a data cursor):
   * `save()` must return a structured-cloneable value, which {@link DataParallel.getState} collects from
   * every replica and {@link DataParallel.setState} hands back to the same replica's `load`, so that a
   * resumed run replays the same steps. Default none.
   */
  state?: { save(): unknown; load(saved: unknown): void };
  /** Frees the model (called when the group closes). */
  dispose?(): void;
}

/** Options of {@link startDataParallel}. */
export interface DataParallelOptions<Options = unknown> {
  /** The replica module: an ES module that calls {@link runReplica} (a `file:` URL or an absolute path). */
  module: URL | string;
  /** Replicas, one worker thread each, an integer from 1 to 64. Default: every core (`os.availableParallelism()`). */
  replicas?: number;
  /** Passed to each replica's setup as `ctx.options` (structured-cloned). */
  options?: Options;
}

/** Weights of the replicas (all equal), replica 0's buffers and optimizer state as host arrays, and each replica's own state. */
export interface DataParallelState {
  variables: { name: string; shape: number[]; values: Float32Array }[];
  buffers: { name: string; shape: number[]; values: Float32Array }[];
  optimizer: { name: string; shape: number[]; dtype: string; values: Float32Array | Int32Array }[];
  /** Each replica's {@link Replica.state} (index = rank; undefined where a replica has none). */
  replicas: unknown[];
}

/** A group of replicas training together (see {@link startDataParallel}). */
export interface DataParallel<Shard = unknown> {
  readonly replicas: number;
  /**
   * One training step: replica r computes the gradients of `shards[r]`'s loss; the gradients are averaged
   * and applied by every replica. Resolves with each replica's loss (their mean is the step's loss).
   */
  step(shards: readonly Shard[]): Promise<number[]>;
  /** Replica 0's variables, buffers and optimizer state (another replica's with `rank`, e.g. to check they agree). */
  getState(rank?: number): Promise<DataParallelState>;
  /** Sets every replica's variables, buffers and optimizer state, and each replica's own `state` (e.g. from a checkpoint). */
  setState(state: DataParallelState): Promise<void>;
  /** Stops the workers (after disposing each replica). */
  close(): Promise<void>;
}

const NODE_WORKER_THREADS = 'node:worker_threads';
const NODE_OS = 'node:os';
const NODE_URL = 'node:url';
const MARK = 'detkit-data-parallel';

interface WorkerData {
  mark: typeof MARK;
  rank: number;
  replicas: number;
  options: unknown;
  control: SharedArrayBuffer;
}

type ToWorker =
  | { type: 'gradients'; buffer: SharedArrayBuffer }
  | { type: 'step'; id: number; shard: unknown }
  | { type: 'get'; id: number }
  | { type: 'save'; id: number }
  | { type: 'set'; id: number; state: Omit<DataParallelState, 'replicas'>; own: unknown }
  | { type: 'close'; id: number };

type FromWorker =
  | { type: 'ready'; sizes: number[]; names: string[] }
  | { type: 'reply'; id: number; value?: unknown }
  | { type: 'failed'; id: number | null; message: string; stack?: string; skipped?: boolean };

async function workerThreads(): Promise<typeof NodeWorkerThreads> {
  return (await import(/* @vite-ignore */ NODE_WORKER_THREADS)) as typeof NodeWorkerThreads;
}

/** Waits until all `replicas` threads have arrived (control[0]: arrivals, control[1]: generation). */
function barrier(control: Int32Array, replicas: number): void {
  const generation = Atomics.load(control, 1);
  if (Atomics.add(control, 0, 1) === replicas - 1) {
    Atomics.store(control, 0, 0);
    Atomics.add(control, 1, 1);
    Atomics.notify(control, 1);
  } else {
    while (Atomics.load(control, 1) === generation) Atomics.wait(control, 1, generation);
  }
}

/**
 * Writes the mean over the `replicas` slots of `all` (each `total` long) into `mean`, for this replica's
 * range of elements only (`rank` of `replicas` equal parts). Summed in rank order with float32 rounding
 * after each addition, then divided by `replicas`: the bits `Float32Array` arithmetic would give.
 */
function averageRange(all: Float32Array, mean: Float32Array, total: number, replicas: number, rank: number): void {
  const lo = Math.floor((total * rank) / replicas);
  const hi = Math.floor((total * (rank + 1)) / replicas);
  const fround = Math.fround;
  for (let j = lo; j < hi; j++) {
    let sum = all[j]!;
    for (let r = 1; r < replicas; r++) sum = fround(sum + all[r * total + j]!);
    mean[j] = sum / replicas;
  }
}

function hostState(list: readonly tf.Variable[]): DataParallelState['variables'] {
  return list.map((v) => ({ name: v.name, shape: [...v.shape], values: v.dataSync() as Float32Array }));
}

/**
 * Runs the calling module as a data-parallel replica when it is loaded by {@link startDataParallel}'s
 * workers; does nothing elsewhere (so the module can also be imported normally). `setup` builds the
 * replica's model, optimizer and loss; it runs after the worker's backend is set to wasm on one thread.
 */
export async function runReplica<Shard, Options = unknown>(setup: (ctx: ReplicaContext<Options>) => Replica<Shard> | Promise<Replica<Shard>>): Promise<void> {
  if (typeof process === 'undefined' || typeof process.versions?.node !== 'string') return;
  const { isMainThread, parentPort, workerData } = await workerThreads();
  const data = workerData as WorkerData | undefined;
  if (isMainThread || parentPort === null || data?.mark !== MARK) return;
  const port = parentPort;
  const post = (message: FromWorker) => port.postMessage(message);
  const fail = (id: number | null, error: unknown) => post({ type: 'failed', id, message: String((error as Error)?.message ?? error), stack: (error as Error)?.stack });
  let replica: Replica<Shard>;
  try {
    await useBackend('wasm', { threads: 1 });
    replica = await setup({ rank: data.rank, replicas: data.replicas, options: data.options as Options });
  } catch (error) {
    fail(null, error);
    return;
  }
  const { variables, optimizer } = replica;
  const buffers = replica.buffers ?? [];
  const control = new Int32Array(data.control);
  const offsets: number[] = [];
  let total = 0;
  for (const v of variables) {
    offsets.push(total);
    total += v.size;
  }
  let gradients: Float32Array | undefined;
  let mean: Float32Array | undefined;
  post({ type: 'ready', sizes: variables.map((v) => v.size), names: variables.map((v) => v.name) });

  const assign = (list: readonly tf.Variable[], values: DataParallelState['variables']) => {
    list.forEach((v, i) => v.assign(tf.tensor(values[i]!.values, v.shape, v.dtype)));
  };

  port.on('message', (message: ToWorker) => {
    if (message.type === 'gradients') {
      // N slots of the per-replica gradients, then the mean.
      gradients = new Float32Array(message.buffer, 0, data.replicas * total);
      mean = new Float32Array(message.buffer, 4 * data.replicas * total, total);
      return;
    }
    const { id } = message;
    try {
      if (message.type === 'step') {
        const all = gradients!;
        const slot = data.rank * total;
        let loss = Number.NaN;
        let failed: unknown;
        try {
          const { value, grads } = tf.variableGrads(() => replica.loss(message.shard as Shard), variables);
          loss = value.dataSync()[0]!;
          variables.forEach((v, i) => {
            const g = grads[v.name];
            all.set(g === undefined ? new Float32Array(v.size) : (g.dataSync() as Float32Array), slot + offsets[i]!);
          });
          tf.dispose([value, ...Object.values(grads)]);
        } catch (error) {
          // Still meet the others at both barriers (they would wait forever), and nobody applies this step.
          failed = error;
          Atomics.store(control, 2, 1);
        }
        barrier(control, data.replicas);
        const skip = Atomics.load(control, 2) === 1;
        // Reduce-scatter: each replica sums its own range of the vector over the N slots, in rank order in
        // float32, into the shared mean, which every replica then reads: every element is summed once, by
        // one replica, in one order, so all replicas apply the same bits.
        if (!skip) averageRange(all, mean!, total, data.replicas, data.rank);
        // Nobody may read the mean before every range is written, nor write the next step's gradients
        // (or clear the flag) before everyone has summed these.
        barrier(control, data.replicas);
        if (data.rank === 0) Atomics.store(control, 2, 0);
        if (failed !== undefined) throw failed;
        if (skip) {
          post({ type: 'failed', id, message: 'another replica failed this step; no replica applied it', skipped: true });
          return;
        }
        // tf.tensor copies the values into this replica's backend: the shared mean may change afterwards.
        const named = variables.map((v, i) => ({ name: v.name, tensor: tf.tensor(mean!.subarray(offsets[i]!, offsets[i]! + v.size), v.shape) }));
        optimizer.applyGradients(named);
        tf.dispose(named.map((n) => n.tensor));
        post({ type: 'reply', id, value: loss });
      } else if (message.type === 'get') {
        void optimizer.getWeights().then((weights) => {
          const state: Omit<DataParallelState, 'replicas'> = {
            variables: hostState(variables),
            buffers: hostState(buffers),
            optimizer: weights.map(({ name, tensor }) => ({ name, shape: [...tensor.shape], dtype: tensor.dtype, values: tensor.dataSync() as Float32Array | Int32Array })),
          };
          post({ type: 'reply', id, value: state });
        }, (error: unknown) => fail(id, error));
      } else if (message.type === 'save') {
        post({ type: 'reply', id, value: replica.state?.save() });
      } else if (message.type === 'set') {
        if (message.own !== undefined) replica.state?.load(message.own);
        assign(variables, message.state.variables);
        assign(buffers, message.state.buffers);
        const weights = message.state.optimizer.map(({ name, shape, dtype, values }) => ({ name, tensor: tf.tensor(values, shape, dtype as 'float32' | 'int32') }));
        void (weights.length > 0 ? optimizer.setWeights(weights) : Promise.resolve()).then(() => {
          tf.dispose(weights.map((w) => w.tensor));
          post({ type: 'reply', id });
        }, (error: unknown) => fail(id, error));
      } else if (message.type === 'close') {
        replica.dispose?.();
        optimizer.dispose();
        post({ type: 'reply', id });
      }
    } catch (error) {
      fail(id, error);
    }
  });
}

function checkReplicas(replicas: unknown): number {
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 1 || replicas > 64) {
    throw new InvalidArgumentError('startDataParallel', 'replicas', `must be an integer from 1 to 64, got ${String(replicas)}`);
  }
  return replicas;
}

/**
 * Starts `replicas` workers, each running the replica module ({@link runReplica}), checks that their
 * variables agree, copies replica 0's initial weights and optimizer state to the others, and returns
 * the group. Node only (worker_threads, SharedArrayBuffer). Throws `InvalidArgumentError` for a bad
 * `replicas` or `module`, and `DetkitError` ('UNSUPPORTED_PLATFORM') outside Node; a replica whose setup
 * fails, or whose variables differ from replica 0's, rejects with its message.
 */
export async function startDataParallel<Shard = unknown, Options = unknown>(options: DataParallelOptions<Options>): Promise<DataParallel<Shard>> {
  if (typeof process === 'undefined' || typeof process.versions?.node !== 'string') {
    throw new DetkitError('UNSUPPORTED_PLATFORM', 'startDataParallel needs Node (worker_threads); in a browser use one replica');
  }
  const { Worker } = await workerThreads();
  const os = ((await import(/* @vite-ignore */ NODE_OS)) as { default: { availableParallelism?: () => number; cpus(): unknown[] } }).default;
  const { pathToFileURL } = (await import(/* @vite-ignore */ NODE_URL)) as { pathToFileURL(path: string): URL };
  const replicas = checkReplicas(options.replicas ?? os.availableParallelism?.() ?? os.cpus().length);
  const module = options.module;
  let url: URL;
  if (module instanceof URL) url = module;
  else if (typeof module === 'string' && module.startsWith('file:')) url = new URL(module);
  else if (typeof module === 'string' && (module.startsWith('/') || /^[A-Za-z]:[\\/]/.test(module))) url = pathToFileURL(module);
  else throw new InvalidArgumentError('startDataParallel', 'module', `must be a file: URL or an absolute path to the replica module, got ${String(module)}`);

  const control = new SharedArrayBuffer(12); // arrivals, generation, a replica failed this step
  const workers = Array.from({ length: replicas }, (_, rank) => {
    const workerData: WorkerData = { mark: MARK, rank, replicas, options: options.options, control };
    return new Worker(url, { workerData });
  });
  let nextId = 1;
  const pending = new Map<string, { resolve(value: unknown): void; reject(error: Error): void }>();
  const ready: Promise<{ sizes: number[]; names: string[] }>[] = [];
  let failure: Error | undefined;
  workers.forEach((worker, rank) => {
    let onReady!: { resolve(value: { sizes: number[]; names: string[] }): void; reject(error: Error): void };
    ready.push(new Promise((resolve, reject) => (onReady = { resolve, reject })));
    const failAll = (error: Error) => {
      failure ??= error;
      onReady.reject(error);
      for (const [key, p] of pending) {
        if (key.startsWith(`${rank}:`)) {
          pending.delete(key);
          p.reject(error);
        }
      }
    };
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'ready') onReady.resolve(message);
      else if (message.type === 'reply') {
        pending.get(`${rank}:${message.id}`)?.resolve(message.value);
        pending.delete(`${rank}:${message.id}`);
      } else {
        const error = Object.assign(new Error(`data-parallel replica ${rank} failed: ${message.message}`), { skipped: message.skipped === true });
        if (message.id === null) failAll(error);
        else {
          pending.get(`${rank}:${message.id}`)?.reject(error);
          pending.delete(`${rank}:${message.id}`);
        }
      }
    });
    worker.on('error', (error) => failAll(new Error(`data-parallel replica ${rank} crashed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => failAll(new Error(`data-parallel replica ${rank} exited (code ${code})`)));
  });
  const request = <T>(rank: number, message: ToWorker & { id: number }): Promise<T> => {
    if (failure) return Promise.reject(failure);
    return new Promise<T>((resolve, reject) => {
      pending.set(`${rank}:${message.id}`, { resolve: resolve as (v: unknown) => void, reject });
      workers[rank]!.postMessage(message);
    });
  };
  const terminate = () => Promise.all(workers.map((w) => w.terminate()));

  let layouts: { sizes: number[]; names: string[] }[];
  try {
    layouts = await Promise.all(ready);
    const [first] = layouts;
    layouts.forEach((layout, rank) => {
      if (layout.sizes.length !== first!.sizes.length || layout.sizes.some((n, i) => n !== first!.sizes[i])) {
        throw new DetkitError('INVALID_ARGUMENT', `data-parallel replica ${rank}'s variables (sizes ${JSON.stringify(layout.sizes)}) differ from replica 0's (${JSON.stringify(first!.sizes)})`);
      }
    });
  } catch (error) {
    await terminate();
    throw error;
  }
  const total = layouts[0]!.sizes.reduce((a, b) => a + b, 0);
  const gradients = new SharedArrayBuffer(Math.max(4, 4 * total * (replicas + 1)));
  for (const worker of workers) worker.postMessage({ type: 'gradients', buffer: gradients } satisfies ToWorker);

  const group: DataParallel<Shard> = {
    replicas,
    async step(shards) {
      if (shards.length !== replicas) {
        throw new InvalidArgumentError('DataParallel.step', 'shards', `must hold one shard per replica (${replicas}), got ${shards.length}`);
      }
      const id = nextId++;
      const settled = await Promise.allSettled(shards.map((shard, rank) => request<number>(rank, { type: 'step', id, shard })));
      const failures = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as Error & { skipped?: boolean });
      // The replica whose loss failed, rather than the others that only skipped the step with it.
      if (failures.length > 0) throw failures.find((e) => !e.skipped) ?? failures[0];
      return settled.map((r) => (r as PromiseFulfilledResult<number>).value);
    },
    getState(rank = 0) {
      if (!Number.isInteger(rank) || rank < 0 || rank >= replicas) {
        return Promise.reject(new InvalidArgumentError('DataParallel.getState', 'rank', `must be an integer from 0 to ${replicas - 1}, got ${String(rank)}`));
      }
      const id = nextId++;
      const saveId = nextId++;
      return Promise.all([
        request<Omit<DataParallelState, 'replicas'>>(rank, { type: 'get', id }),
        Promise.all(workers.map((_, r) => request<unknown>(r, { type: 'save', id: saveId }))),
      ]).then(([state, own]) => ({ ...state, replicas: own }));
    },
    async setState(state) {
      const id = nextId++;
      const { replicas: own = [], ...shared } = state;
      await Promise.all(workers.map((_, rank) => request(rank, { type: 'set', id, state: shared, own: own[rank] })));
    },
    async close() {
      const id = nextId++;
      try {
        await Promise.all(workers.map((_, rank) => request(rank, { type: 'close', id })));
      } finally {
        failure ??= new Error('the data-parallel group is closed');
        workers.forEach((w) => w.removeAllListeners('exit'));
        await terminate();
      }
    },
  };
  try {
    // DDP starts every replica from replica 0's weights.
    if (replicas > 1) await group.setState(await group.getState());
  } catch (error) {
    await terminate();
    throw error;
  }
  return group;
}
