// `pnpm bench`: times each workload of workloads.mjs on detkit's wasm and cpu backends (tinybench), then
// the same workloads on the same inputs in torchvision (reference.py, one thread), and prints the ratios.
//
//   node run.mjs               # every workload
//   node run.mjs W1b W5 W8     # only these ids, or groups of them (W5 = W5a, W5b, W5c; W8-trainer)
//   node run.mjs --cpu-w8 W8   # also the cpu side of the training steps (seconds to minutes a step)
//   node run.mjs --threads 1,2 W8 W8-trainer   # thread counts compared (default: 1 and every core)
//
// Each backend is activated as applications do, with @detkit/backends' useBackend (on wasm, that
// registers detkit's training kernels). Every workload runs with one thread on both sides; the workloads
// marked `threads` (the training steps) run again with each further count of --threads, detkit in a child
// process (tfjs starts wasm once per process: `useBackend('wasm', { threads })`) and torchvision with
// torch.set_num_threads(N) and OPENBLAS_NUM_THREADS=N; the N-thread child also times the steps with detkit's
// helper threads off and on in turns (column "1 process"; a speed-up bar is met only where both agree).
// Last, N 1-thread children step the trainer's models side by side and one alone in turns: the speed-up N
// cores give N independent copies of a step, the most any N-core design of one step can reach here.
// DETKIT_BENCH_PYTHON overrides the reference
// interpreter (default /usr/bin/python3); DETKIT_BENCH_CPU_W8=1 is --cpu-w8.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRandom, setupBackend, tf } from '@detkit/core';
import { Bench } from 'tinybench';
import { writeInputs } from './inputs.mjs';
import { WORKLOADS } from './workloads.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const BACKENDS = ['wasm', 'cpu'];
const PYTHON = process.env.DETKIT_BENCH_PYTHON ?? '/usr/bin/python3';
/**
 * Per workload and backend: warm up for >= 2 calls and 100 ms, then time >= 10 calls and 1 s. Keeps a
 * full run near a minute on a 2-core machine while the fast ops still collect hundreds of samples.
 */
const BENCH_OPTIONS = { time: 1000, iterations: 10, warmupTime: 100, warmupIterations: 2 };
/** The same budget for reference.py (torchvision W7a takes ~470 ms a call). */
const REFERENCE_SPEC = { time_ms: 1000, min_runs: 5, warmup_runs: 1 };
/** Relative tolerance of float output checks (sums over up to 10M float32 IoUs). */
const CHECK_RTOL = 1e-4;

function log(line) {
  process.stderr.write(`${line}\n`);
}

const loadAverage = () => os.loadavg().map((v) => v.toFixed(2)).join(' ');

/** Set in the child processes that time the workloads on `N` wasm threads (see {@link runThreaded}). */
const CHILD_THREADS = process.env.DETKIT_BENCH_CHILD_THREADS;

/** Every core, as useBackend's default, at most tfjs-backend-wasm's 8. */
const everyCore = () => Math.min(8, os.availableParallelism?.() ?? os.cpus().length);

/**
 * @detkit/backends' useBackend (wasm on `threads` threads) when it is built, else @detkit/core's
 * setupBackend (no training kernels, one thread).
 */
async function backendActivator(notes, threads) {
  try {
    const { useBackend } = await import('@detkit/backends');
    return (name) => useBackend(name, name === 'wasm' ? { threads } : {});
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    notes.push("@detkit/backends is not built: backends set up with @detkit/core's setupBackend, without detkit's wasm training kernels");
    return (name) => setupBackend(name);
  }
}

/** Imports each workload's package once; a missing or unbuilt package skips its workloads. */
async function loadPackages(workloads) {
  const packages = new Map([[null, { module: {} }]]);
  for (const name of new Set(workloads.map((w) => w.package))) {
    if (name === null) continue;
    try {
      packages.set(name, { module: await import(name) });
    } catch (error) {
      if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
      packages.set(name, { missing: `${name} is not installed or not built (${error.message.split('\n')[0]})` });
    }
  }
  return packages;
}

/**
 * Times every workload on `backend`. Returns { [id]: { median_ms, runs, rme, check, extras? } | { error }
 * | { skipped } }.
 */
async function runBackend(backend, workloads, packages, hostInputs, { activate, flags }) {
  await activate(backend);
  const results = {};
  for (const w of workloads) {
    if (w.detkit === false) continue;
    if (backend === 'cpu' && w.cpu && !(w.cpu.flag && flags.has(w.cpu.flag))) {
      results[w.id] = { skipped: `${w.cpu.skip}${w.cpu.flag ? `; run with ${w.cpu.flag}` : ''}` };
      log(`  detkit ${backend} ${w.id}: skipped (${results[w.id].skipped})`);
      continue;
    }
    const before = tf.memory().numTensors;
    const tensors = inputTensors(hostInputs[w.id]);
    let prepared;
    try {
      prepared = await setUp(w, packages, tensors);
      const { call } = prepared;
      const out = call();
      const check = await w.check(out);
      tf.dispose(out);
      const bench = new Bench({ ...BENCH_OPTIONS, ...w.timing?.[backend], name: `${w.id} ${backend}`, throws: true });
      bench.add(w.id, () => tf.dispose(call()));
      bench.runSync();
      const r = bench.tasks[0].result;
      results[w.id] = { median_ms: r.latency.p50, runs: r.latency.samplesCount, rme: r.latency.rme, check };
      if (prepared.extras) results[w.id].extras = prepared.extras(r.latency.p50);
      log(`  detkit ${backend} ${w.id}: ${r.latency.p50.toFixed(3)} ms (${r.latency.samplesCount} runs)`);
    } catch (error) {
      results[w.id] = { error: String(error?.message ?? error) };
      log(`  detkit ${backend} ${w.id}: failed: ${results[w.id].error}`);
    } finally {
      prepared?.dispose?.();
      tf.dispose(Object.values(tensors));
    }
    const leaked = tf.memory().numTensors - before;
    if (leaked > 0) results[w.id].leakedTensors = leaked;
  }
  return results;
}

/** A workload's host inputs as tensors (int32 where the data is, else float32). */
function inputTensors(inputs) {
  return Object.fromEntries(Object.entries(inputs).map(([name, { data, shape }]) => [name, tf.tensor(data, shape, data instanceof Int32Array ? 'int32' : 'float32')]));
}

/** `w.setup` on `tensors`, as `{ call, extras?, dispose? }` (a setup may return the call alone). */
async function setUp(w, packages, tensors) {
  const prepared = await w.setup(packages.get(w.package).module, tensors);
  return typeof prepared === 'function' ? { call: prepared } : prepared;
}

/** Runs reference.py on the written inputs. Returns { torch, torchvision, threads, results } or { missing }. */
function runReference(workloads, inputsDir, threads = 1) {
  if (!existsSync(PYTHON)) return { missing: `${PYTHON} not found` };
  const overrides = Object.fromEntries(workloads.filter((w) => w.reference).map((w) => [w.id, w.reference]));
  const proc = spawnSync(PYTHON, [join(HERE, 'reference.py')], {
    input: JSON.stringify({ inputs_dir: inputsDir, workloads: workloads.map((w) => w.id), ...REFERENCE_SPEC, overrides }),
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, DETKIT_BENCH_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) },
    maxBuffer: 16 * 1024 * 1024,
  });
  if (proc.error) return { missing: `${PYTHON} could not start (${proc.error.message})` };
  if (proc.status === 3) return { missing: `torch/torchvision not importable by ${PYTHON}` };
  if (proc.status !== 0) return { missing: `reference.py exited with status ${proc.status}` };
  return JSON.parse(proc.stdout.toString());
}

/**
 * Times `workloads` on wasm with `threads` threads in a child process (this script, in child mode), with
 * the load average at its start and end. Returns { load: [start, end], results } or { error }.
 */
function runThreaded(workloads, threads) {
  const proc = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...workloads.map((w) => w.id)], {
    env: { ...process.env, DETKIT_BENCH_CHILD_THREADS: String(threads) },
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 1024 * 1024,
  });
  if (proc.status !== 0) return { error: `the ${threads}-thread child exited with status ${proc.status}` };
  return JSON.parse(proc.stdout.toString());
}

/** Windows of {@link runCeiling}: rounds of one child alone then all side by side, each window this long. */
const CEILING_ROUNDS = 4;
const CEILING_WINDOW_MS = 3000;

/**
 * Set in the children of {@link runCeiling} and {@link runTurns}: step the one selected workload on this
 * many wasm threads until killed.
 */
const STEPPING_CHILD = process.env.DETKIT_BENCH_STEPPING_CHILD;

/**
 * Untimed steps a process takes before its steps are compared across thread counts (the stepping children
 * of runTurns and runCeiling, and helperOffOn's process, for workloads with a speed-up bar): steps/s of
 * training is a steady-state figure, and V8 takes hundreds of steps to settle. Measured 2026-12-06 (a
 * Faster R-CNN trainer step on 2 threads, `--trace-opt`): 253 ms of optimizing compiles on V8's background
 * threads over the 20 steps after 30 warm-up steps (12.7 ms a step), 170 ms after 150, 21 ms after 600;
 * 724 compiles and 99 deoptimizations over the first 620 steps. Those threads take a core from the helper of
 * a 2-thread process, while a 1-thread process leaves them the idle one: V8's threads used 12.1-12.4 ms of CPU
 * a step with the helpers off after 30 steps and 3.0-3.1 after 500, and the one-process figure was 1.49 and
 * 1.50 after 30 steps against 1.74 and 1.57 after 500 (separate runs, this VM's spells included).
 */
const STEADY_WARMUP_STEPS = 500;

/** The untimed steps of a process stepping `w` before it is compared across thread counts. */
const steadyWarmup = (w) => (w.threads?.speedup !== undefined ? STEADY_WARMUP_STEPS : (w.timing?.wasm?.warmupIterations ?? 3));

/**
 * Stepping child mode: `w`'s step on `threads` wasm threads, its warm-up steps, then one line `ready`, then
 * one line `start end` (ms since the epoch) per step, until killed or orphaned.
 */
async function steppingChildMain(w, threads) {
  const packages = await loadPackages([w]);
  await (await backendActivator([], threads))('wasm');
  const prepared = await setUp(w, packages, inputTensors(w.inputs(createRandom(w.seed))));
  for (let i = 0; i < steadyWarmup(w); i++) tf.dispose(prepared.call());
  process.stdout.write('ready\n');
  // Never outlive the parent: it kills this process when done, but it may itself be killed first.
  const parent = process.ppid;
  process.stdout.on('error', () => process.exit(0));
  for (;;) {
    if (process.ppid !== parent) process.exit(0);
    const t0 = performance.timeOrigin + performance.now();
    tf.dispose(prepared.call());
    process.stdout.write(`${t0} ${performance.timeOrigin + performance.now()}\n`);
  }
}

/** Starts a stepping child for `w` on `threads` threads; resolves once it has warmed up, to { child, steps: [[start, end], ...] }. */
function startSteppingChild(w, threads) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), w.id], { env: { ...process.env, DETKIT_BENCH_STEPPING_CHILD: String(threads) }, stdio: ['ignore', 'pipe', 'inherit'] });
    const steps = [];
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) {
        if (line === 'ready') resolve({ child, steps });
        else steps.push(line.split(' ').map(Number));
      }
    });
    child.on('exit', (status, signal) => signal === null && reject(new Error(`a ${threads}-thread stepping child for ${w.id} exited with status ${status}`)));
  });
}

/**
 * startSteppingChild, the child paused (SIGSTOP) once it has warmed up and added to `children` (whose
 * owner kills them): children started together warm up side by side, and none steps until it is let.
 */
async function startPaused(w, threads, children) {
  const c = await startSteppingChild(w, threads);
  c.child.kill('SIGSTOP');
  children.push(c);
  return c;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The durations of the `[start, end]` steps that lie wholly within [from, to]. */
const within = (steps, from, to) => steps.filter(([s0, s1]) => s0 >= from && s1 <= to).map(([s0, s1]) => s1 - s0);

/** The median (the upper one of an even count) of `values`, which it leaves as they are. */
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * For each workload: `measure(w, children)`, where `children` (empty at first) is where it keeps the
 * stepping children it starts (startSteppingChild), every one of which is resumed and killed afterwards,
 * whatever happens. Returns { load, results: { [id]: what measure returned, where it returned something } };
 * a workload whose measure throws is logged and left out.
 */
async function withSteppingChildren(workloads, measure) {
  const start = loadAverage();
  const results = {};
  for (const w of workloads) {
    const children = [];
    try {
      const r = await measure(w, children);
      if (r !== undefined) results[w.id] = r;
    } catch (error) {
      log(`  ${w.id}: failed: ${error?.message ?? error}`);
    } finally {
      for (const c of children) {
        c.child.kill('SIGCONT');
        c.child.kill('SIGKILL');
      }
    }
  }
  return { load: [start, loadAverage()], results };
}

/**
 * What `n` cores of this machine give `n` independent copies of each workload's step: `n` 1-thread child
 * processes step it without end; in turns (CEILING_ROUNDS rounds of CEILING_WINDOW_MS windows) all but the
 * first are paused (SIGSTOP) and all run (SIGCONT). The copies share no memory and never wait for each
 * other, so `n` x (the first's step alone) / (a step side by side) bounds what any n-core design of one
 * step (threads or data-parallel replicas) can reach on this machine at this time. Taking turns every few
 * seconds, in warm processes, keeps this VM's minutes-long fast and slow spells out of the ratio; a step
 * that straddles a switch is left out. Returns { load, results: { [id]: { alone_ms, side_by_side_ms, ceiling, steps } } }.
 */
async function runCeiling(workloads, n) {
  log(`detkit on wasm, ${n} 1-thread processes, side by side and one alone in turns (${CEILING_ROUNDS} x ${CEILING_WINDOW_MS} ms each):`);
  return withSteppingChildren(workloads, async (w, children) => {
    // Warmed up side by side (untimed), each paused once it is ready.
    await Promise.all(Array.from({ length: n }, () => startPaused(w, 1, children)));
    for (const c of children) c.child.kill('SIGCONT');
    const alone = [];
    const together = [];
    for (let round = 0; round < CEILING_ROUNDS; round++) {
      for (const c of children.slice(1)) c.child.kill('SIGSTOP');
      const a = performance.timeOrigin + performance.now();
      await sleep(CEILING_WINDOW_MS);
      for (const c of children.slice(1)) c.child.kill('SIGCONT');
      const b = performance.timeOrigin + performance.now();
      await sleep(CEILING_WINDOW_MS);
      const e = performance.timeOrigin + performance.now();
      alone.push(...within(children[0].steps, a, b));
      for (const c of children) together.push(...within(c.steps, b, e));
    }
    if (alone.length === 0 || together.length === 0) return undefined;
    const r = { alone_ms: median(alone), side_by_side_ms: median(together), ceiling: (n * median(alone)) / median(together), steps: { alone: alone.length, together: together.length } };
    log(`  ${w.id}: alone ${fmtMs(r.alone_ms)} ms (${alone.length} steps), side by side ${fmtMs(r.side_by_side_ms)} ms (${together.length}): ${n} x ${fmtMs(r.alone_ms)} / ${fmtMs(r.side_by_side_ms)} = ${fmtRatio(r.ceiling)}`);
    return r;
  });
}

/** Rounds of {@link runTurns}: each runs the 1-thread child, then the N-thread one, a window each. */
const TURNS_ROUNDS = 4;

/**
 * Pins the calling thread of process `pid` (its main thread, whose id is the pid) to CPU `cpu` (a number,
 * or a `taskset` list such as `0-1`) with util-linux's `taskset`; its other threads keep every core. False
 * where that cannot be done.
 */
function pinMainThread(pid, cpu) {
  if (process.platform !== 'linux') return false;
  return spawnSync('taskset', ['-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' }).status === 0;
}

/** Pins `pid`'s calling thread for round `round` of a measurement (CPU round mod the cores): that CPU, or -1 where it could not. */
function pinForRound(pid, round) {
  const cpu = round % os.cpus().length;
  return pinMainThread(pid, cpu) ? cpu : -1;
}

/** The mean of the medians of each group of `values` (a Map of arrays; empty groups left out), or undefined. */
function meanOfMedians(groups) {
  const medians = [...groups.values()].filter((v) => v.length > 0).map(median);
  return medians.length === 0 ? undefined : medians.reduce((a, b) => a + b, 0) / medians.length;
}

/**
 * The N-thread step against the 1-thread one, each in its own warm process, taking turns: the two children
 * step without end and the parent lets one run while the other is paused (SIGSTOP), a CEILING_WINDOW_MS
 * window each, TURNS_ROUNDS rounds. Each has the machine to itself in its windows, and the windows
 * alternate every few seconds, so this VM's minutes-long fast and slow spells fall on both alike (the
 * `wasm Nt/1t` figure times the two one after the other). The vCPUs of this VM differ in speed, and a
 * 1-thread process can sit on the slower one for all its windows: on Linux the 1-thread child's calling
 * thread is pinned to each CPU in turn, round by round, and its step is the mean of its median on each.
 * A step that straddles a switch is left out. Returns { load, results: { [id]: { one_ms, n_ms, speedup,
 * steps, one_by_cpu } } }.
 */
async function runTurns(workloads, n) {
  log(`detkit on wasm, a 1-thread and a ${n}-thread process in turns (${TURNS_ROUNDS} x ${CEILING_WINDOW_MS} ms each):`);
  return withSteppingChildren(workloads, async (w, children) => {
    // Both warm up at once (untimed), each paused once it is ready.
    const turn = await Promise.all([startPaused(w, 1, children), startPaused(w, n, children)]);
    // The 1-thread child's steps by the CPU its calling thread was pinned to (-1: not pinned).
    const one = new Map();
    const many = [];
    for (let round = 0; round < TURNS_ROUNDS; round++) {
      const cpu = pinForRound(turn[0].child.pid, round);
      for (const [i, c] of turn.entries()) {
        turn[1 - i].child.kill('SIGSTOP');
        c.child.kill('SIGCONT');
        const a = performance.timeOrigin + performance.now();
        await sleep(CEILING_WINDOW_MS);
        const steps = within(c.steps, a, performance.timeOrigin + performance.now());
        if (i === 1) many.push(...steps);
        else one.set(cpu, [...(one.get(cpu) ?? []), ...steps]);
      }
    }
    const byCpu = [...one].filter(([, steps]) => steps.length > 0).map(([cpu, steps]) => ({ cpu, median_ms: median(steps), steps: steps.length }));
    if (byCpu.length === 0 || many.length === 0) return undefined;
    const r = { one_ms: meanOfMedians(one), n_ms: median(many), one_by_cpu: byCpu };
    r.steps = { one: byCpu.reduce((sum, c) => sum + c.steps, 0), n: many.length };
    r.speedup = r.one_ms / r.n_ms;
    const where = byCpu.map((c) => `${c.cpu < 0 ? 'unpinned' : `cpu ${c.cpu}`} ${fmtMs(c.median_ms)}`).join(', ');
    log(`  ${w.id}: 1 thread ${fmtMs(r.one_ms)} ms (${where}; ${r.steps.one} steps), ${n} threads ${fmtMs(r.n_ms)} ms (${r.steps.n}): ${fmtRatio(r.speedup)}`);
    return r;
  });
}

/** Steps timed per data-parallel run, after DATA_PARALLEL_WARMUP warm-up steps (as the in-process training steps). */
const DATA_PARALLEL_STEPS = 10;
const DATA_PARALLEL_WARMUP = 30;

/**
 * Times the `threads.dataParallel` workloads as `replicas` data-parallel replicas (one worker thread and
 * one wasm thread each): the median of DATA_PARALLEL_STEPS steps after DATA_PARALLEL_WARMUP warm-up steps, with the load
 * average around the run. Returns { load: [start, end], results: { [id]: { median_ms, runs } | { error } } }.
 */
async function runDataParallel(workloads, replicas) {
  const { startDataParallel } = await import('@detkit/backends');
  const start = loadAverage();
  const results = {};
  log(`detkit data-parallel, ${replicas} replicas:`);
  for (const w of workloads) {
    let group;
    try {
      group = await startDataParallel({ module: w.threads.dataParallel.module, replicas, options: w.threads.dataParallel.options });
      const shards = Array.from({ length: replicas }, () => null);
      for (let i = 0; i < DATA_PARALLEL_WARMUP; i++) await group.step(shards);
      const times = [];
      for (let i = 0; i < DATA_PARALLEL_STEPS; i++) {
        const t0 = performance.now();
        await group.step(shards);
        times.push(performance.now() - t0);
      }
      results[w.id] = { median_ms: median(times), runs: times.length };
      log(`  detkit data-parallel ${w.id}: ${results[w.id].median_ms.toFixed(3)} ms (${times.length} steps)`);
    } catch (error) {
      results[w.id] = { error: String(error?.message ?? error) };
      log(`  detkit data-parallel ${w.id}: failed: ${results[w.id].error}`);
    } finally {
      await group?.close();
    }
  }
  return { load: [start, loadAverage()], results };
}

/** Child mode: the selected workloads on wasm only, `threads` threads; one JSON object on stdout. */
async function childMain(selected, threads) {
  const notes = [];
  const packages = await loadPackages(selected);
  const activate = await backendActivator(notes, threads);
  const runnable = selected.filter((w) => !packages.get(w.package).missing && w.detkit !== false);
  const hostInputs = Object.fromEntries(runnable.map((w) => [w.id, w.inputs(createRandom(w.seed))]));
  const start = loadAverage();
  log(`detkit on wasm, ${threads} threads (child process):`);
  const results = await runBackend('wasm', runnable, packages, hostInputs, { activate, flags: new Set() });
  if (threads > 1) {
    for (const w of runnable.filter((w) => w.threads?.speedup !== undefined && results[w.id]?.median_ms !== undefined)) {
      results[w.id].inProcess = await helperOffOn(w, packages, hostInputs);
      const r = results[w.id].inProcess;
      const where = Object.keys(r.by_cpu.off).map((c) => `${c} ${r.by_cpu.off[c].toFixed(1)} / ${r.by_cpu.on[c]?.toFixed(1)}`).join(', ');
      log(`  detkit wasm ${w.id}, one process, helper off / on: ${r.off_ms.toFixed(1)} / ${r.on_ms.toFixed(1)} ms (medians: ${where}), fastest ${r.off_min_ms.toFixed(1)} / ${r.on_min_ms.toFixed(1)} ms`);
      if (r.cpu) {
        const { wall_ms: wall, calling_ms: calling, helpers_ms: helpers, rest_ms: rest } = r.cpu;
        const pct = (ms) => `${((100 * ms) / wall).toFixed(0)}%`;
        log(`    on, CPU a step (mean of ${r.rounds}, wall ${wall.toFixed(1)} ms): calling thread ${calling.toFixed(1)} ms (${pct(calling)}), helper(s) ${helpers.toFixed(1)} (${pct(helpers)}), V8's and libuv's threads ${rest.toFixed(1)}`);
      }
    }
  }
  const { backendInfo } = await import('@detkit/backends');
  process.stdout.write(JSON.stringify({ load: [start, loadAverage()], info: backendInfo(), results, notes }));
}

/** Rounds of {@link helperOffOn}: each times one step with the helper off and one with it on. */
const OFF_ON_ROUNDS = 20;
/**
 * Untimed rounds of {@link helperOffOn} first (each two steps a side): the child has run only the helpers-on
 * path so far, and V8 compiles the other one, and recompiles what both share, on its background threads
 * for the first rounds, which takes CPU from the helpers-on steps only (with the helpers off the second core
 * is free for it). Measured 2026-12-06 (apps/bench-style child, 10 timed rounds, off / on; separate runs):
 * SSD 1.49, 1.53, 1.69, 1.70 with no such rounds, 1.90 and 1.87 after 6, 1.77, 1.67, 1.67 and 1.72 after
 * 15; Faster R-CNN 1.59 and 1.64 with none, 1.76 and 1.69 after 15. V8's threads took 9-14 ms of CPU a
 * helpers-on step with none, 3-8 after 6, 4-24 after 15 (late compiles of large functions, 30-50 ms each, in
 * some runs): more timed rounds average those out.
 */
const OFF_ON_WARMUP_ROUNDS = 10;

/**
 * `w`'s step in this (N-thread) process with detkit's kernel threads off and on in turns (@detkit/backends'
 * `DETKIT_KERNEL_THREADS` flag: off runs every kernel on the calling thread, as on 1 thread, with XNNPACK's
 * pool at one thread in Node either way), after the process's steady-state warm-up ({@link steadyWarmup})
 * and {@link OFF_ON_WARMUP_ROUNDS} untimed rounds, one untimed step after each switch: medians and fastest in ms.
 * A 1-thread process runs on the core it starts on, and this VM's two vCPUs differ (about 92 against 111
 * ms an SSD step, backends README): comparing within one process leaves out which core another process
 * got; on Linux the calling thread is also pinned to each CPU in turn, round by round (unpinned after), and
 * each side's step is the mean of its medians on each CPU (`off_ms`, `on_ms`; `by_cpu` has them).
 */
async function helperOffOn(w, packages, hostInputs) {
  const tensors = inputTensors(hostInputs[w.id]);
  const prepared = await setUp(w, packages, tensors);
  const times = { off: [], on: [] };
  /** Each side's step times by the CPU the calling thread was pinned to (-1: not pinned). */
  const byCpu = { off: new Map(), on: new Map() };
  /** CPU ms of each thread over the timed steps with the helpers on. */
  const busy = new Map();
  const cpus = os.cpus().length;
  let pinned = false;
  try {
    // This process has taken the timed runs' steps so far; the rest of its steady-state warm-up here.
    for (let i = 0; i < steadyWarmup(w); i++) tf.dispose(prepared.call());
    for (let round = 0; round < OFF_ON_WARMUP_ROUNDS; round++) {
      for (const side of ['off', 'on']) {
        tf.env().set('DETKIT_KERNEL_THREADS', side === 'on');
        tf.dispose(prepared.call());
        tf.dispose(prepared.call());
      }
    }
    for (let round = 0; round < OFF_ON_ROUNDS; round++) {
      const at = pinForRound(process.pid, round);
      pinned ||= at >= 0;
      for (const side of ['off', 'on']) {
        tf.env().set('DETKIT_KERNEL_THREADS', side === 'on');
        tf.dispose(prepared.call());
        const before = side === 'on' ? threadCpu() : undefined;
        const t0 = performance.now();
        tf.dispose(prepared.call());
        const ms = performance.now() - t0;
        times[side].push(ms);
        byCpu[side].set(at, [...(byCpu[side].get(at) ?? []), ms]);
        const after = before && threadCpu();
        for (const [tid, t] of after ?? []) busy.set(tid, (busy.get(tid) ?? 0) + t - (before.get(tid) ?? 0));
      }
    }
  } finally {
    if (pinned) pinMainThread(process.pid, `0-${cpus - 1}`);
    tf.env().set('DETKIT_KERNEL_THREADS', true);
    prepared.dispose?.();
    tf.dispose(Object.values(tensors));
  }
  const wall = times.on.reduce((a, b) => a + b, 0) / OFF_ON_ROUNDS;
  const others = [...busy].filter(([tid]) => tid !== process.pid).map(([, ms]) => ms / OFF_ON_ROUNDS).sort((a, b) => b - a);
  const cpu = busy.size === 0 ? undefined : {
    wall_ms: wall,
    calling_ms: (busy.get(process.pid) ?? 0) / OFF_ON_ROUNDS,
    // The kernel threads' helpers are the busiest threads after the calling one; the rest are V8's (compiler, GC) and libuv's.
    helpers_ms: others.slice(0, wasmHelpers()).reduce((a, b) => a + b, 0),
    rest_ms: others.slice(wasmHelpers()).reduce((a, b) => a + b, 0),
  };
  const perCpu = (side) => Object.fromEntries([...byCpu[side]].map(([c, t]) => [c < 0 ? 'unpinned' : `cpu ${c}`, median(t)]));
  return {
    off_ms: meanOfMedians(byCpu.off),
    on_ms: meanOfMedians(byCpu.on),
    off_min_ms: Math.min(...times.off),
    on_min_ms: Math.min(...times.on),
    by_cpu: { off: perCpu('off'), on: perCpu('on') },
    rounds: OFF_ON_ROUNDS,
    cpu,
  };
}

/** Helper threads of the kernel threads in this (child) process: its thread count less the calling thread. */
const wasmHelpers = () => Number(CHILD_THREADS ?? 1) - 1;

/**
 * CPU time so far of each thread of this process, in ms by thread id (Linux's /proc schedstat, in ns), or
 * undefined where there is no /proc.
 */
function threadCpu() {
  try {
    return new Map(readdirSync('/proc/self/task').map((tid) => [Number(tid), Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6]));
  } catch {
    return undefined;
  }
}

/** Integer summaries (counts, index sums) must match exactly; float ones within CHECK_RTOL. */
function checksAgree(a, b) {
  const close = (x, y) => (Number.isInteger(x) && Number.isInteger(y) ? x === y : Math.abs(x - y) <= CHECK_RTOL * Math.max(1, Math.abs(y)));
  return a.length === b.length && a.every((v, i) => close(v, b[i]));
}

const fmtMs = (v) => (v === undefined ? 'n/a' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
const fmtRatio = (v) => (v === undefined ? 'n/a' : v < 0.1 ? v.toFixed(3) : v.toFixed(2));

function printTable(rows) {
  const head = ['workload', 'detkit wasm ms', 'detkit cpu ms', 'torchvision ms', 'wasm/tv', 'cpu/tv', 'target wasm/tv'];
  const cells = rows.map((r) => [
    r.id,
    r.wasm?.skipped ? 'skipped' : r.wasm?.error ? 'failed' : fmtMs(r.wasm?.median_ms),
    r.cpu?.skipped ? 'skipped' : r.cpu?.error ? 'failed' : fmtMs(r.cpu?.median_ms),
    fmtMs(r.torchvision?.median_ms),
    fmtRatio(r.ratio.wasm),
    fmtRatio(r.ratio.cpu),
    r.skipped ? 'skipped' : r.target === undefined ? '' : `<= ${r.target.toFixed(1)}${r.ratio.wasm === undefined ? '' : r.ratio.wasm <= r.target ? ' met' : ' MISSED'}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  console.log(line(head));
  console.log(widths.map((n) => '-'.repeat(n)).join('  '));
  for (const c of cells) console.log(line(c));
}

/**
 * The `threads` workloads at each thread count: detkit wasm and torchvision medians, their ratio, and each
 * side's speed-up over its own 1-thread figure (the issue's bars: `target` for wasm / tv at the most
 * threads, `threads.speedup` for detkit's speed-up), then the load average around each side's run.
 */
function printThreadTable(workloads, counts, threaded) {
  const ms = (n, side, id) => threaded[n]?.[side]?.results?.[id]?.median_ms;
  /** The N-thread process's own helper off / on ratio (see helperOffOn), or undefined. */
  const offOn = (n, id) => {
    const r = threaded[n]?.wasm?.results?.[id]?.inProcess;
    return r === undefined ? undefined : r.off_ms / r.on_ms;
  };
  /** N x (1-thread child alone) / (N 1-thread children side by side), see runCeiling; or undefined. */
  const ceiling = (n, id) => threaded[n]?.ceiling?.results?.[id]?.ceiling;
  /** The 1-thread over the N-thread process's step, in turns (see runTurns); or undefined. */
  const turns = (n, id) => threaded[n]?.turns?.results?.[id]?.speedup;
  const extra = counts.slice(1);
  const head = [
    'workload',
    ...counts.flatMap((n) => [`wasm ${n}t ms`, `tv ${n}t ms`, `wasm/tv ${n}t`]),
    ...extra.flatMap((n) => [`dp ${n}r ms`, `wasm ${n}t/1t`, `in turns`, `1 process`, `dp ${n}r/1t`, `${n} x 1t ceiling`, `tv ${n}t/1t`]),
    'bars',
  ];
  // A busy machine gives each session its share whatever its thread count: no verdict on a speed-up then.
  const loads = counts.flatMap((n) => ['wasm', 'dataParallel', 'torchvision'].flatMap((side) => threaded[n]?.[side]?.load ?? [])).map((l) => Number(l.split(' ')[0]));
  const busiest = Math.max(0, ...loads);
  const cores = os.cpus().length;
  const judge = (ok) => (busiest > cores ? `not judged: load ${busiest.toFixed(1)} > ${cores} cores` : ok ? 'met' : 'MISSED');
  const cells = workloads.map((w) => {
    const last = counts[counts.length - 1];
    const bars = [];
    const ratioLast = ms(last, 'wasm', w.id) / ms(last, 'torchvision', w.id);
    if (w.target !== undefined && Number.isFinite(ratioLast)) bars.push(`wasm/tv ${last}t <= ${w.target}: ${judge(ratioLast <= w.target)}`);
    // Two processes: in turns where measured; else the better of the threads and the replicas, each timed
    // a minute or more after the 1-thread step (figures that read the VM's spells as well).
    const sequential = Math.max(ms(1, 'wasm', w.id) / ms(last, 'wasm', w.id) || 0, ms(1, 'wasm', w.id) / ms(last, 'dataParallel', w.id) || 0);
    const speedup = turns(last, w.id) ?? sequential;
    // Met only where the one-process figure agrees: a 1-thread process on this VM's slower vCPU inflates the first.
    const oneProcess = offOn(last, w.id);
    if (w.threads.speedup !== undefined && speedup > 0) {
      const met = speedup >= w.threads.speedup && (oneProcess === undefined || oneProcess >= w.threads.speedup);
      const bound = ceiling(last, w.id);
      // Below the bar even for independent copies of the step: no design of one step can meet it here now.
      const why = !met && bound !== undefined && bound < w.threads.speedup ? ` (${last} independent 1-thread copies reach ${fmtRatio(bound)})` : '';
      bars.push(`${last} cores/1 >= ${w.threads.speedup}: ${judge(met)}${why}`);
    }
    return [
      w.id,
      ...counts.flatMap((n) => [fmtMs(ms(n, 'wasm', w.id)), fmtMs(ms(n, 'torchvision', w.id)), fmtRatio(ms(n, 'wasm', w.id) / ms(n, 'torchvision', w.id) || undefined)]),
      ...extra.flatMap((n) => [
        fmtMs(ms(n, 'dataParallel', w.id)),
        fmtRatio(ms(1, 'wasm', w.id) / ms(n, 'wasm', w.id) || undefined),
        fmtRatio(turns(n, w.id)),
        fmtRatio(offOn(n, w.id)),
        fmtRatio(ms(1, 'wasm', w.id) / ms(n, 'dataParallel', w.id) || undefined),
        fmtRatio(ceiling(n, w.id)),
        fmtRatio(ms(1, 'torchvision', w.id) / ms(n, 'torchvision', w.id) || undefined),
      ]),
      bars.join('; '),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => c.map((v, i) => (i === 0 || i === c.length - 1 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  console.log(`\nOn ${counts.join(' and ')} cores: wasm Nt = one process on N threads (detkit's kernels split over them, weight gradients behind the step), timed after the 1-thread one; in turns = a 1-thread and an N-thread process, warm (${STEADY_WARMUP_STEPS} untimed steps each), each running alone in turns (3 s windows; the 1-thread one's calling thread pinned to each CPU in turn), 1-thread step over N-thread step; 1 process = the N-thread process's step with detkit's helper threads off over on, in turns after its own warm-up (the speed-up within one process, on its calling thread's core); dp Nr = N data-parallel replicas (worker threads, one wasm thread each, DDP semantics); N x 1t ceiling = N x a 1-thread child's step alone over N 1-thread children's side by side (what N cores give N independent copies of the step: a bound on any N-core design of one step); tv Nt = torch.set_num_threads(N); speed-ups over the same side's 1-thread time:`);
  console.log(line(head));
  console.log(widths.map((n) => '-'.repeat(n)).join('  '));
  for (const c of cells) console.log(line(c));
  for (const n of counts) {
    for (const side of ['wasm', 'dataParallel', 'turns', 'ceiling', 'torchvision']) {
      const load = threaded[n]?.[side]?.load;
      if (load) console.log(`load average (1, 5, 15 min) around ${side} on ${n} thread(s): ${load[0]} -> ${load[1]}`);
    }
  }
}

const USAGE = `usage: pnpm bench [--cpu-w8] [--threads 1,2] [ids...]   (or node run.mjs ... in apps/bench)
  ids        workload ids or groups (W1a, W5 = W5a-c, W8-trainer); none: every workload
  --cpu-w8   also the cpu side of the training steps (seconds to minutes a step; DETKIT_BENCH_CPU_W8=1)
  --threads  thread counts compared on the training steps, 1 to 8 (default: 1 and every core)
Single benchmarks beside this file: rpn-step.mjs, trainer-steps.mjs, wasm-kernels.mjs, cpu-kernels.mjs,
loader-idle.mjs, profile.mjs, head-conv.mjs, webgpu.mjs, webgpu-steps.mjs (README.md).`;

async function main() {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      'cpu-w8': { type: 'boolean', default: process.env.DETKIT_BENCH_CPU_W8 === '1' },
      threads: { type: 'string', default: `1,${everyCore()}` },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const counts = [...new Set(values.threads.split(',').map(Number))];
  if (counts.some((n) => !Number.isInteger(n) || n < 1 || n > 8)) {
    console.error(`--threads takes thread counts from 1 to 8 separated by commas, got '${values.threads}'`);
    process.exit(2);
  }
  const extraCounts = counts.filter((n) => n !== 1);
  const flags = new Set(values['cpu-w8'] ? ['--cpu-w8'] : []);
  // An id, a group (W5 = W5a..c, W6 = W6-match + W6-loss), or an id without its letter (W7 = W7a, W7b).
  const matches = (w, id) => w.id === id || w.group === id || (w.id.length === id.length + 1 && w.id.startsWith(id) && /[a-z]$/.test(w.id));
  const unknown = positionals.filter((id) => !WORKLOADS.some((w) => matches(w, id)));
  if (unknown.length > 0) {
    const known = [...new Set(WORKLOADS.flatMap((w) => [w.group, w.id]).filter(Boolean))];
    console.error(`unknown workload id(s): ${unknown.join(', ')}; known: ${known.join(', ')}`);
    process.exit(2);
  }
  const selected = positionals.length > 0 ? WORKLOADS.filter((w) => positionals.some((id) => matches(w, id))) : WORKLOADS;
  if (CHILD_THREADS !== undefined) return childMain(selected, Number(CHILD_THREADS));
  if (STEPPING_CHILD !== undefined) return steppingChildMain(selected[0], Number(STEPPING_CHILD));

  const loadStart = loadAverage();
  log(`load average (1, 5, 15 min): ${loadStart}`);
  const packages = await loadPackages(selected);
  const notes = [];
  const activate = await backendActivator(notes, 1);
  const runnable = selected.filter((w) => {
    const missing = packages.get(w.package).missing;
    if (missing) notes.push(`${w.id} skipped: ${missing}`);
    return !missing;
  });

  const hostInputs = Object.fromEntries(runnable.map((w) => [w.id, w.inputs(createRandom(w.seed))]));
  const inputsDir = writeInputs(hostInputs);
  try {
    const detkit = {};
    // Per thread count: { wasm: { load, results }, torchvision: { load, results } } of the `threads` workloads.
    const threaded = Object.fromEntries(counts.map((n) => [n, {}]));
    const threadedWorkloads = runnable.filter((w) => w.threads);
    for (const backend of BACKENDS) {
      log(`detkit on ${backend}${backend === 'wasm' ? ', 1 thread' : ''}:`);
      const start = loadAverage();
      detkit[backend] = await runBackend(backend, runnable, packages, hostInputs, { activate, flags });
      if (backend !== 'wasm') continue;
      threaded[1].wasm = { load: [start, loadAverage()], results: detkit.wasm };
      // Right after the 1-thread figures, so that both see the machine in about the same state.
      const timed = threadedWorkloads.filter((w) => w.detkit !== false);
      for (const n of timed.length > 0 ? extraCounts : []) {
        threaded[n].wasm = runThreaded(timed, n);
        if (threaded[n].wasm.error) notes.push(threaded[n].wasm.error);
        const parallel = timed.filter((w) => w.threads.dataParallel);
        if (parallel.length > 0) threaded[n].dataParallel = await runDataParallel(parallel, n);
      }
    }
    log(`torchvision (${PYTHON}, 1 thread):`);
    const referenced = runnable.filter((w) => w.reference !== false);
    const referenceStart = loadAverage();
    const reference = referenced.length > 0 ? runReference(referenced, inputsDir) : { results: {} };
    if (reference.missing) notes.push(`torchvision reference missing: ${reference.missing}; ratios are n/a`);
    threaded[1].torchvision = { load: [referenceStart, loadAverage()], results: reference.results ?? {} };
    const referencedThreaded = threadedWorkloads.filter((w) => w.reference !== false);
    for (const n of reference.missing || referencedThreaded.length === 0 ? [] : extraCounts) {
      log(`torchvision (${PYTHON}, ${n} threads):`);
      const start = loadAverage();
      const r = runReference(referencedThreaded, inputsDir, n);
      threaded[n].torchvision = r.missing ? { error: r.missing } : { load: [start, loadAverage()], results: r.results, threads: r.threads };
      if (r.missing) notes.push(`torchvision on ${n} threads: ${r.missing}`);
    }
    // Last: its children load every core, which the load-average readings of the runs above must not see.
    const bounded = threadedWorkloads.filter((w) => w.detkit !== false && w.threads.speedup !== undefined);
    for (const n of bounded.length > 0 ? extraCounts : []) {
      threaded[n].turns = await runTurns(bounded, n);
      threaded[n].ceiling = await runCeiling(bounded, n);
    }

    const rows = selected.map((w) => {
      const row = { id: w.id, title: w.title, package: w.package, target: w.target, ratio: {} };
      if (!runnable.includes(w)) return { ...row, skipped: packages.get(w.package).missing };
      for (const b of BACKENDS) row[b] = detkit[b][w.id];
      row.torchvision = reference.results?.[w.id];
      const tv = row.torchvision?.median_ms;
      for (const b of BACKENDS) {
        if (row[b]?.skipped) notes.push(`${w.id} on ${b} skipped: ${row[b].skipped}`);
        if (row[b]?.extras) notes.push(`${w.id} on ${b}: ${Object.entries(row[b].extras).map(([k, v]) => `${fmtMs(v)} ${k}`).join(', ')}`);
        if (row[b]?.error) notes.push(`${w.id} on ${b} failed: ${row[b].error}`);
        if (row[b]?.leakedTensors) notes.push(`${w.id} on ${b} leaked ${row[b].leakedTensors} tensor(s)`);
        if (tv !== undefined && row[b]?.median_ms !== undefined) row.ratio[b] = row[b].median_ms / tv;
      }
      if (row.torchvision?.error) notes.push(`${w.id} torchvision failed: ${row.torchvision.error}`);
      if (row.torchvision?.note) notes.push(`${w.id} torchvision: ${row.torchvision.note}`);
      // Both sides must compute the same thing: compare the output summaries.
      if (w.reference === false) notes.push(`${w.id}: detkit only (no torchvision counterpart; see W8-tv for scale)`);
      if (w.detkit === false) notes.push(`${w.id}: torchvision only, for scale (no ratio: a different model)`);
      const expected = row.torchvision?.check ?? row.wasm?.check;
      for (const b of BACKENDS) {
        const got = row[b]?.check;
        if (expected && got && !checksAgree(got, expected)) {
          notes.push(`${w.id} on ${b}: output check ${JSON.stringify(got)} differs from ${row.torchvision?.check ? 'torchvision' : 'wasm'} ${JSON.stringify(expected)}`);
        }
      }
      return row;
    });

    const refLine = reference.missing
      ? `MISSING (${reference.missing})`
      : `torchvision ${reference.torchvision}, torch ${reference.torch}, ${reference.threads} thread(s)`;
    const loadEnd = loadAverage();
    console.log(`\ndetkit: tfjs ${tf.version_core}, Node ${process.version}; reference: ${refLine}`);
    console.log(`${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores; load average (1, 5, 15 min) at start ${loadStart}, at end ${loadEnd}\n`);
    printTable(rows);
    if (threadedWorkloads.length > 0 && counts.length > 1) printThreadTable(threadedWorkloads, counts, threaded);
    console.log(`\n${rows.map((r) => `${r.id}: ${r.title}`).join('\n')}`);
    if (notes.length > 0) console.log(`\n${notes.map((n) => `note: ${n}`).join('\n')}`);

    const cpus = os.cpus();
    const report = {
      date: new Date().toISOString(),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpu: { model: cpus[0]?.model ?? 'unknown', cores: cpus.length },
      tfjs: tf.version_core,
      reference: reference.missing
        ? { missing: reference.missing }
        : { python: PYTHON, torch: reference.torch, torchvision: reference.torchvision, threads: reference.threads },
      loadAverage: { start: loadStart, end: loadEnd },
      settings: { tinybench: BENCH_OPTIONS, reference: REFERENCE_SPEC },
      workloads: rows,
      threads: { counts, byCount: threaded },
      notes,
    };
    const out = join(HERE, 'results', 'latest.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nwrote ${out}`);
  } finally {
    rmSync(inputsDir, { recursive: true, force: true });
  }
}

await main();
