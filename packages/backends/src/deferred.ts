/**
 * Weight gradients behind the step. In a training step's backward pass each convolution computes the
 * gradient of its input (which the next layer down needs at once) and of its filter (which only the
 * optimizer reads, at the end of the step). Run on the kernel threads' queue
 * (./kernel-threads' `defer`), a filter gradient is computed by the helper threads while the calling thread
 * goes on with the pass: tfjs's JavaScript, the one-thread kernels and the input gradients, which the
 * helpers still join between two queued chunks. The calling thread does the rest of a queued job itself
 * when the result is read.
 *
 * The step running ahead ({@link RUN_AHEAD_FLAG}) takes this further: every detkit kernel of a training step
 * queues its calls ({@link runQueued}), reading pending tensors without waiting ({@link queuedAddress}); a job
 * names the jobs writing what it reads, and its first call waits for their last calls (./kernel-threads'
 * `after`), so the queue runs in dependency order, not queue order.
 *
 * A deferred job's outputs are pending until its calls are done: the first access to their data, by any
 * kernel (tfjs-backend-wasm's look their tensors up in `dataIdMap`, detkit's through `addressOf`), by a
 * read (`dataSync`, `data`) or by freeing them, completes the job first. The job holds a reference to each
 * tensor it reads, so that tfjs freeing one (the gradient tape disposes dy as it goes) cannot hand its
 * memory to another tensor while a helper still reads it, and frees its scratch when it is done. The
 * kernels and their chunks are the same as on the calling thread, so the results are the same bits.
 *
 * Internal to the package.
 */
import { DetkitError, tf } from '@detkit/core';
import type { DataId, TensorInfo } from '@tensorflow/tfjs-core';
import { MAX_AFTER, type KernelThreads } from './kernel-threads';
import { addressOf, kernelThreads, MIN_SPLIT_WORK, runSplit, type RangeKernel, type WasmBackend } from './wasm-backend';

/**
 * tfjs environment flag (default true): weight gradients (convolution filter gradients, and products of the
 * form x^T dy) computed by the kernel threads behind the step, see above. False computes them in place, as
 * every other kernel (for comparisons: the results are the same bits either way).
 */
export const DEFER_GRADIENTS_FLAG = 'DETKIT_DEFER_WEIGHT_GRADIENTS';
tf.env().registerFlag(DEFER_GRADIENTS_FLAG, () => true);

/**
 * tfjs environment flag (default true): the training step runs ahead. detkit's convolutions (forward, input
 * and weight gradients), training-mode batch norm and its gradient, the moving statistics, bias sums,
 * transposes, same-shape `Add` and Adam queue their calls on the kernel threads instead of running them,
 * their inputs looked up without waiting for a pending job ({@link queuedAddress}), each job waiting for the
 * jobs writing what it reads; the calling thread goes on with tfjs's JavaScript and the next layers while the
 * helpers compute, and joins them where a result is read (another kernel reading a pending tensor, a read, a
 * free). The same kernels and chunks: the same bits. False runs every call in place (weight gradients still
 * behind the step, by {@link DEFER_GRADIENTS_FLAG}).
 */
export const RUN_AHEAD_FLAG = 'DETKIT_RUN_AHEAD';
tf.env().registerFlag(RUN_AHEAD_FLAG, () => true);

/** One range kernel call of a job, as {@link runSplit} takes it. */
export interface Phase {
  kernel: RangeKernel;
  args: readonly number[];
  total: number;
  align: number;
  work: number;
}

/** What a job writes, reads and allocates for itself. */
export interface JobTensors {
  /** Tensors the job writes: pending until it is done. */
  outputs: readonly TensorInfo[];
  /** Tensors the job reads: held (one reference each) until it is done. */
  reads: readonly TensorInfo[];
  /** The job's own scratch tensors: freed when it is done. */
  scratch: readonly TensorInfo[];
}

interface Job {
  /** The job's first and last queued calls. */
  first: number;
  last: number;
  outputs: DataId[];
  reads: DataId[];
  scratch: DataId[];
}

interface TensorData {
  refCount: number;
}

interface Tracking {
  /** The backend's kernel threads, which run the jobs. */
  threads: KernelThreads;
  jobs: Job[];
  pending: Map<DataId, Job>;
  /** Outputs of a job whose kernel failed on a helper: reading them throws that error. */
  failed: Map<DataId, Error>;
  get: (dataId: DataId) => TensorData;
  /** Above 0 while the backend itself touches a tensor's bookkeeping, not its data. */
  quiet: number;
}

const tracking = new WeakMap<WasmBackend, Tracking>();

/** The backend's tracking, installing it the first time: its data lookups complete a pending job first. */
function trackingFor(backend: WasmBackend, threads: KernelThreads): Tracking {
  let state = tracking.get(backend);
  if (state !== undefined) return state;
  const map = backend.dataIdMap as unknown as { get(dataId: DataId): TensorData };
  const get = map.get.bind(map);
  const track: Tracking = { threads, jobs: [], pending: new Map(), failed: new Map(), get, quiet: 0 };
  state = track;
  map.get = (dataId: DataId) => {
    if (track.quiet === 0) {
      const job = track.pending.get(dataId);
      if (job !== undefined) finish(backend, track, job);
      const error = track.failed.get(dataId);
      if (error !== undefined) throw error;
    }
    return get(dataId);
  };
  const bookkeeping = <A extends unknown[], R>(method: (...args: A) => R) => (...args: A): R => {
    track.quiet++;
    try {
      return method(...args);
    } finally {
      track.quiet--;
    }
  };
  const wasm = backend as WasmBackend & { incRef(dataId: DataId): void; refCount(dataId: DataId): number };
  wasm.incRef = bookkeeping(wasm.incRef.bind(wasm));
  wasm.refCount = bookkeeping(wasm.refCount.bind(wasm));
  const disposeData = bookkeeping(wasm.disposeData.bind(wasm));
  wasm.disposeData = (dataId: DataId, force?: boolean) => {
    const job = track.pending.get(dataId);
    // Freeing the last reference while a helper may still write there: finish the job first.
    if (job !== undefined && (force === true || (track.get(dataId)?.refCount ?? 0) <= 1)) finish(backend, track, job);
    const freed = disposeData(dataId, force);
    if (freed) track.failed.delete(dataId);
    return freed;
  };
  tracking.set(backend, track);
  return track;
}

/** Jobs queued on `backend` and not yet released (for tests). */
export function pendingJobs(backend: WasmBackend): number {
  return tracking.get(backend)?.jobs.length ?? 0;
}

/**
 * Frees what a done job held and makes its outputs readable; a job a chunk of which threw (a trap in a
 * kernel) leaves its outputs failed: reading them throws.
 */
function release(backend: WasmBackend, track: Tracking, job: Job): void {
  const kernel = track.threads.failure(job.first, job.last);
  const error = kernel === undefined ? undefined : new DetkitError('UNSUPPORTED_PLATFORM', `detkit's '${kernel}' kernel failed on a helper thread`);
  for (const id of job.outputs) {
    track.pending.delete(id);
    if (error !== undefined) track.failed.set(id, error);
  }
  for (const id of [...job.scratch, ...job.reads]) backend.disposeData(id);
}

/**
 * Releases the jobs that are done (without waiting). They leave the list first: releasing frees what a job
 * read, which may complete and release another job in turn.
 */
function settle(backend: WasmBackend, track: Tracking): void {
  const done = track.jobs.filter((job) => track.threads.done(job.last));
  if (done.length === 0) return;
  const kept = track.jobs.filter((job) => !done.includes(job));
  track.jobs.length = 0;
  track.jobs.push(...kept);
  for (const job of done) release(backend, track, job);
}

/** Completes `job` (and the jobs it reads from) with the helpers, then releases it. */
function finish(backend: WasmBackend, track: Tracking, job: Job): void {
  track.threads.complete(job.last);
  const at = track.jobs.indexOf(job);
  if (at >= 0) {
    track.jobs.splice(at, 1);
    release(backend, track, job);
  }
  settle(backend, track);
}

/**
 * Whether kernels on `backend` queue their calls ({@link RUN_AHEAD_FLAG} on, and kernel threads with a
 * helper): they then look their inputs up with {@link queuedAddress} and run with {@link runQueued}.
 */
export function runsAhead(backend: WasmBackend): boolean {
  return tf.env().getBool(RUN_AHEAD_FLAG) && kernelThreads(backend) !== undefined;
}

/**
 * Byte address of `info`'s data for a call about to be queued: a tensor still pending (written by a queued
 * call) is not waited for, since the queued call will wait for the job writing it. Only for
 * {@link runQueued}'s phases, with `info` among the job's reads.
 */
export function queuedAddress(backend: WasmBackend, info: TensorInfo): number {
  const track = tracking.get(backend);
  if (track === undefined) return addressOf(backend, info);
  track.quiet++;
  try {
    return addressOf(backend, info);
  } finally {
    track.quiet--;
  }
}

/**
 * Byte address of `info`'s data for a call of a kernel that queues where the backend {@link runsAhead}
 * (`ahead`, its answer): {@link queuedAddress} then, else `addressOf` (which completes a pending job first).
 */
export function callAddress(backend: WasmBackend, info: TensorInfo, ahead: boolean): number {
  return ahead ? queuedAddress(backend, info) : addressOf(backend, info);
}

/**
 * Queues `phases` (a kernel's calls, in order, whatever their size) on the kernel threads, for a kernel
 * that {@link runsAhead}: `tensors.outputs` are pending until they are done, `tensors.reads` (every tensor
 * whose address a phase holds) stay allocated until then, `tensors.scratch` is freed then. A job of calls
 * too small to split whose inputs are all ready runs now; where the queue is full, every queued job is
 * completed first and the phases run now.
 */
export function runQueued(backend: WasmBackend, phases: readonly Phase[], tensors: JobTensors): void {
  if (phases.length === 0) {
    for (const t of tensors.scratch) backend.disposeData(t.dataId);
    return;
  }
  const threads = kernelThreads(backend)!;
  const track = trackingFor(backend, threads);
  // A small job whose inputs are all ready runs now: queueing it would cost more than it is.
  const small = phases.every((phase) => phase.work < MIN_SPLIT_WORK);
  if (small && !tensors.reads.some((t) => track.pending.has(t.dataId))) {
    runPhases(backend, phases, tensors, false);
    return;
  }
  if (!enqueue(backend, track, phases, tensors)) {
    // The phases may read any pending job's output: every job is completed first.
    while (track.jobs.length > 0) finish(backend, track, track.jobs[0]!);
    runPhases(backend, phases, tensors, false);
  }
}

/**
 * A kernel's calls: queued with {@link runQueued} where `ahead` (the kernel {@link runsAhead}), else run now
 * one after the other, each split as {@link runSplit} splits it, and `tensors.scratch` freed after.
 */
export function runPhases(backend: WasmBackend, phases: readonly Phase[], tensors: JobTensors, ahead: boolean): void {
  if (ahead) {
    runQueued(backend, phases, tensors);
    return;
  }
  for (const phase of phases) runSplit(backend, phase.kernel, phase.args, phase.total, phase.align, phase.work);
  for (const t of tensors.scratch) backend.disposeData(t.dataId);
}

/** Queues `phases` as one job; false where the queue has no room for them. */
function enqueue(backend: WasmBackend, track: Tracking, phases: readonly Phase[], tensors: JobTensors): boolean {
  const threads = track.threads;
  settle(backend, track);
  // A call too small to split (as runSplit judges it) is one chunk.
  const defer = (phase: Phase, reserve: number, after: readonly number[]) =>
    threads.defer(phase.kernel, phase.args, phase.total, phase.work < MIN_SPLIT_WORK ? Math.max(1, phase.total) : phase.align, reserve, after);
  // The job starts once the jobs writing what it reads are done (completed now past MAX_AFTER of them);
  // its calls run one after the other.
  const writers = [...new Set(tensors.reads.map((t) => track.pending.get(t.dataId)).filter((job) => job !== undefined))];
  writers.sort((a, b) => b.last - a.last);
  for (const job of writers.slice(MAX_AFTER)) finish(backend, track, job);
  const after = writers.slice(0, MAX_AFTER).map((job) => job.last);
  const first = defer(phases[0]!, phases.length, after);
  if (first === undefined) return false;
  let last = first;
  // Places for every call were reserved with the first.
  for (let i = 1; i < phases.length; i++) last = defer(phases[i]!, 1, [last])!;
  const ids = (infos: readonly TensorInfo[]) => infos.map((t) => t.dataId);
  const job: Job = { first, last, outputs: ids(tensors.outputs), reads: ids(tensors.reads), scratch: ids(tensors.scratch) };
  for (const id of job.reads) backend.incRef(id);
  for (const id of job.outputs) track.pending.set(id, job);
  track.jobs.push(job);
  return true;
}

/**
 * Runs `phases` in order, on the kernel threads' queue when they have a helper and the
 * {@link DEFER_GRADIENTS_FLAG} is on (then `tensors.outputs` are pending until they are done), else now,
 * each split as {@link runSplit} splits it. Either way the job owns `tensors.scratch` and frees it.
 */
export function runDeferred(backend: WasmBackend, phases: readonly Phase[], tensors: JobTensors): void {
  if (runsAhead(backend)) {
    runQueued(backend, phases, tensors);
    return;
  }
  const threads = kernelThreads(backend);
  const work = phases.reduce((sum, phase) => sum + phase.work, 0);
  if (threads !== undefined && tf.env().getBool(DEFER_GRADIENTS_FLAG) && work >= MIN_SPLIT_WORK) {
    if (enqueue(backend, trackingFor(backend, threads), phases, tensors)) return;
  }
  runPhases(backend, phases, tensors, false);
}
