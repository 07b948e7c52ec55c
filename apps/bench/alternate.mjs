// Steps/s of the trainer's default steps on 1 core and on 2 cores, taken in turns over a few minutes, for
// a machine too busy for one clean run: three workers stay up (wasm on 1 thread; wasm on N threads; N
// data-parallel replicas) and take one step each in turn, round after round, with the load average
// recorded each round. The minimum and lower quartile of each side approximate what it does when the
// machine is free; the medians are what it did while shared.
//
//   node alternate.mjs [rounds] [threads] [ssd|frcnn]      # default 30 rounds, every core, ssd
import { fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

/** Linux's USER_HZ: /proc's CPU times are in these ticks. */
const TICKS_PER_SECOND = 100;

/** CPU time of each thread of this process so far, in ticks (utime + stime of /proc/self/task/<tid>/stat). */
function threadTicks() {
  const ticks = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks.set(tid, Number(fields[11]) + Number(fields[12]));
    } catch {
      // the thread ended
    }
  }
  return ticks;
}

const FACTORIES = { ssd: { factory: 'createSsd', batch: 16, lr: 4e-3 }, frcnn: { factory: 'createFasterRcnn', batch: 8, lr: 2e-3 } };

if (process.env.DETKIT_ALTERNATE_ROLE) {
  // A worker process: 'wasm:<threads>' or 'dp:<replicas>'.
  const [kind, count] = process.env.DETKIT_ALTERNATE_ROLE.split(':');
  const spec = FACTORIES[process.env.DETKIT_ALTERNATE_MODEL];
  const { startDataParallel, useBackend } = await import('@detkit/backends');
  let step;
  if (kind === 'dp') {
    await useBackend('wasm', { threads: 1 });
    const group = await startDataParallel({ module: new URL('./replica-trainer.mjs', import.meta.url), replicas: Number(count), options: spec });
    const shards = Array.from({ length: Number(count) }, () => null);
    step = () => group.step(shards);
  } else {
    await useBackend('wasm', { threads: Number(count) });
    const { tf } = await import('@detkit/core');
    const { createLoader, syntheticSource } = await import('@detkit/data');
    const models = await import('@detkit/models');
    const detector = models[spec.factory]({ numClasses: 4, imageSize: 128, seed: 0 });
    const loader = createLoader({ source: syntheticSource({ split: 'train' }), imageSize: 128, batchSize: spec.batch, seed: 0 });
    let data;
    for await (const b of loader.epoch(0)) {
      data = b;
      break;
    }
    const optimizer = tf.train.adam(spec.lr);
    const vars = models.trainableVariables(detector);
    let s = 1;
    const rng = () => (s = (s * 1103515245 + 12345) >>> 0) / 4294967296;
    step = () => {
      const cost = optimizer.minimize(() => detector.loss(data.images, data.targets, { rng }).total, true, vars);
      cost.dataSync();
      cost.dispose();
    };
  }
  await step(); // warm-up
  process.on('message', async () => {
    const before = threadTicks();
    const t0 = performance.now();
    await step();
    const wall = performance.now() - t0;
    const after = threadTicks();
    const cpu = [...after].map(([tid, t]) => ((t - (before.get(tid) ?? 0)) * 1000) / TICKS_PER_SECOND).filter((ms) => ms > 0);
    process.send({ wall, cpu: cpu.sort((x, y) => y - x) });
  });
  process.send('ready');
} else {
  const rounds = Number(process.argv[2] ?? 30);
  const threads = Number(process.argv[3] ?? Math.min(8, os.availableParallelism()));
  const model = process.argv[4] ?? 'ssd';
  const roles = ['wasm:1', `wasm:${threads}`, `dp:${threads}`];
  const children = roles.map((role) => fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, DETKIT_ALTERNATE_ROLE: role, DETKIT_ALTERNATE_MODEL: model } }));
  const next = (child) => new Promise((resolve) => child.once('message', resolve));
  await Promise.all(children.map(next));
  const times = roles.map(() => []);
  const critical = roles.map(() => []);
  const total = roles.map(() => []);
  const loads = [];
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < roles.length; i++) {
      const reply = next(children[i]);
      children[i].send('step');
      const { wall, cpu } = await reply;
      times[i].push(wall);
      critical[i].push(cpu[0] ?? 0);
      total[i].push(cpu.reduce((x, y) => x + y, 0));
    }
    loads.push(os.loadavg()[0]);
  }
  for (const c of children) c.kill();
  const q = (a, p) => [...a].sort((x, y) => x - y)[Math.floor(p * (a.length - 1))];
  console.log(`${model}, ${rounds} rounds in turns; 1-min load average from ${Math.min(...loads).toFixed(1)} to ${Math.max(...loads).toFixed(1)} (median ${q(loads, 0.5).toFixed(1)})`);
  console.log('| side | min ms | lower quartile ms | median ms | speed-up over wasm:1 (min / quartile / median) |');
  console.log('|---|---|---|---|---|');
  roles.forEach((role, i) => {
    const s = [0, 0.25, 0.5].map((p) => q(times[0], p) / q(times[i], p));
    console.log(`| ${role} | ${q(times[i], 0).toFixed(0)} | ${q(times[i], 0.25).toFixed(0)} | ${q(times[i], 0.5).toFixed(0)} | ${s.map((v) => v.toFixed(2)).join(' / ')} |`);
  });
  // On a free machine a step takes about its busiest thread's CPU time (the others run beside it); the
  // replicas wait at their barrier without spinning, XNNPACK's threads spin a while first (counted: an
  // underestimate of the threaded build's speed-up).
  console.log('\nCPU time per step by thread (medians): the busiest thread bounds the step on a free machine');
  console.log('| side | busiest thread ms | all threads ms | step on a free machine / wasm:1 (by busiest thread) |');
  console.log('|---|---|---|---|');
  roles.forEach((role, i) => {
    console.log(`| ${role} | ${q(critical[i], 0.5).toFixed(0)} | ${q(total[i], 0.5).toFixed(0)} | ${(q(critical[0], 0.5) / q(critical[i], 0.5)).toFixed(2)} |`);
  });
}
