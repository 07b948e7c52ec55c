// The standard workloads of /work/shared/BENCHMARKS.md, detkit side, in BENCHMARKS.md's order; one file
// per detkit package under workloads/. reference.py holds the torchvision side under the same ids. To
// add one, append an entry there and a function in reference.py (see README.md).
import { BOXES_WORKLOADS } from './workloads/boxes.mjs';
import { HEAD_WORKLOADS } from './workloads/heads.mjs';
import { LOSS_WORKLOADS } from './workloads/losses.mjs';
import { TARGET_WORKLOADS } from './workloads/targets.mjs';
import { TRAINING_WORKLOADS } from './workloads/training.mjs';

/**
 * @typedef {{ data: Float32Array | Int32Array, shape: number[] }} HostArray
 * @typedef {Record<string, import('@detkit/core').tf.Tensor>} Tensors
 * @typedef {{ call: () => unknown, dispose?: () => void, extras?: (medianMs: number) => Record<string, number> }} Prepared
 * @typedef {object} Workload
 * @property {string} id - reference.py's WORKLOADS uses the same key; the BENCHMARKS.md id, or that id
 *   with a suffix when one BENCHMARKS.md workload has several timed parts (W5a, W6-loss).
 * @property {string} [group] - The BENCHMARKS.md id when `id` has a suffix: `node run.mjs W5` selects W5a..c.
 * @property {string} title
 * @property {string | null} package - The detkit package whose op is timed (passed to `setup`); the
 *   workload is skipped when it cannot be imported (not yet written, or not built).
 * @property {number} [target] - The target for median(detkit wasm) / median(torchvision).
 * @property {number} seed - Seed of the inputs' PRNG.
 * @property {(rand: () => number) => Record<string, HostArray>} inputs - Inputs, made once, shared with
 *   reference.py. Each becomes a tensor of its dtype on the backend before timing.
 * @property {(pkg: any, t: Tensors) => (() => unknown) | Prepared | Promise<Prepared>} [setup] - Returns
 *   the timed call (tensors in, output tensor(s) out; the harness disposes them), or the call with a
 *   `dispose` for the state it made (variables, optimizers) and `extras` (more figures, after timing).
 * @property {(out: any) => Promise<number[]>} [check] - A few numbers summing the output, compared
 *   against reference.py's `check` for the same workload (integers exactly, floats to 1e-4), or with the
 *   wasm side's when there is no reference.
 * @property {{ skip: string, flag?: string }} [cpu] - Opts out of the cpu backend, with the reason
 *   printed, unless `flag` is on the command line.
 * @property {{ wasm?: object, cpu?: object }} [timing] - tinybench options replacing the harness's.
 * @property {false | { time_ms?: number, min_runs?: number, warmup_runs?: number }} [reference] - false:
 *   detkit only (no torchvision counterpart); else reference.py's timing options for this workload.
 * @property {false} [detkit] - false: torchvision only, shown for scale.
 * @property {{ speedup?: number, dataParallel?: { module: URL, options: object } }} [threads] - Also timed
 *   at each further thread count N of `--threads` (detkit wasm on N threads in a child process,
 *   torchvision with N torch threads); `speedup`: the bar for detkit's 1-thread time over its
 *   N-core time; `dataParallel`: also timed as N data-parallel replicas (@detkit/backends'
 *   startDataParallel with this replica module and options), one wasm thread each.
 */

/** @type {Workload[]} */
export const WORKLOADS = [
  ...BOXES_WORKLOADS.filter((w) => w.id.startsWith('W1')),
  ...TARGET_WORKLOADS.filter((w) => w.id === 'W2'),
  ...HEAD_WORKLOADS.filter((w) => w.id === 'W3'),
  ...TARGET_WORKLOADS.filter((w) => w.id === 'W4'),
  ...HEAD_WORKLOADS.filter((w) => w.id !== 'W3'),
  ...TARGET_WORKLOADS.filter((w) => w.group === 'W6'),
  ...LOSS_WORKLOADS,
  ...BOXES_WORKLOADS.filter((w) => w.id.startsWith('W7')),
  ...TRAINING_WORKLOADS,
];
