// startDataParallel: replicas in worker threads train to exactly the weights that DDP's semantics define:
// each step applies the mean over replicas of each replica's gradient of its own shard (batch norm over
// each shard alone), the same update in every replica. The reference is computed in this process with the
// same network, on the same one-thread wasm backend, with the same float32 mean.
import { InvalidArgumentError, tf } from '@detkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDataParallel, type DataParallel, type DataParallelState } from '../src/data-parallel';
import { useBackend } from '../src/use-backend';
import { bundleChild } from './bundle-child';
import { buildNet, type Shard } from './data-parallel/replica';

const SEED = 7;
let replica: { file: string; remove(): void };

function shard(seed: number, n: number): Shard {
  return {
    images: tf.randomUniform([n, 8, 8, 3], 0, 1, 'float32', seed).dataSync() as Float32Array,
    targets: tf.randomNormal([n, 4], 0, 1, 'float32', seed + 1).dataSync() as Float32Array,
    n,
  };
}

/** Steps of shards, each step one shard per replica (2 replicas x 3 images); made once wasm runs. */
let STEPS: Shard[][];

/** Single-process DDP reference: mean of the per-shard gradients, summed in float32 in shard order. */
function reference(steps: Shard[][]): { variables: Float32Array[]; movingMean: Float32Array } {
  const net = buildNet(SEED);
  const optimizer = tf.train.momentum(0.1, 0.9);
  for (const shards of steps) {
    const total = net.variables.reduce((a, v) => a + v.size, 0);
    const mean = new Float32Array(total);
    for (const s of shards) {
      const { value, grads } = tf.variableGrads(() => net.loss(s), net.variables);
      let at = 0;
      for (const v of net.variables) {
        const g = grads[v.name]!.dataSync();
        for (let j = 0; j < v.size; j++) mean[at + j] = mean[at + j]! + g[j]!;
        at += v.size;
      }
      tf.dispose([value, ...Object.values(grads)]);
    }
    for (let j = 0; j < total; j++) mean[j] = mean[j]! / shards.length;
    let at = 0;
    const named = net.variables.map((v) => {
      const t = tf.tensor(mean.subarray(at, at + v.size), v.shape);
      at += v.size;
      return { name: v.name, tensor: t };
    });
    optimizer.applyGradients(named);
    tf.dispose(named.map((n) => n.tensor));
  }
  const out = { variables: net.variables.map((v) => v.dataSync() as Float32Array), movingMean: net.buffers[0]!.dataSync() as Float32Array };
  optimizer.dispose();
  net.dispose();
  return out;
}

beforeAll(async () => {
  await useBackend('wasm', { threads: 1 });
  STEPS = [0, 1, 2].map((s) => [shard(10 * s + 1, 3), shard(10 * s + 2, 3)]);
  replica = await bundleChild('test/data-parallel/replica.ts', ['@tensorflow/*', '@detkit/core']);
});

afterAll(() => replica.remove());

describe('startDataParallel', () => {
  let group: DataParallel<Shard>;
  let losses: number[][];
  let states: DataParallelState[];

  beforeAll(async () => {
    group = await startDataParallel<Shard>({ module: replica.file, replicas: 2, options: { seed: SEED } });
    losses = [];
    for (const shards of STEPS) losses.push(await group.step(shards));
    states = [await group.getState(0), await group.getState(1)];
  }, 120_000);

  afterAll(async () => {
    await group?.close();
  });

  it('2 replicas give the DDP reference weights bit for bit, and stay identical to each other', () => {
    const expected = reference(STEPS);
    expect(states[0]!.variables.map((v) => Array.from(v.values))).toEqual(expected.variables.map((v) => Array.from(v)));
    expect(states[1]!.variables.map((v) => Array.from(v.values))).toEqual(expected.variables.map((v) => Array.from(v)));
    // Buffers are per replica (each shard's batch statistics); replica 0's are the reported ones.
    expect(Array.from(states[0]!.buffers[0]!.values)).not.toEqual(Array.from(states[1]!.buffers[0]!.values));
    expect(losses[2]!.every((l) => Number.isFinite(l))).toBe(true);
  });

  it('which differs from one process training on the whole batch (batch norm over 6 images, not 3)', () => {
    const whole = STEPS.map((shards) => {
      const n = shards.reduce((a, s) => a + s.n, 0);
      const cat = (key: 'images' | 'targets') => Float32Array.from(shards.flatMap((s) => Array.from(s[key])));
      return [{ images: cat('images'), targets: cat('targets'), n }];
    });
    const expected = reference(whole);
    const diff = Math.max(...expected.variables[0]!.map((v, i) => Math.abs(v - states[0]!.variables[0]!.values[i]!)));
    expect(diff).toBeGreaterThan(1e-4);
  });

  it('a replica failing a step rejects it, no replica applies it, and the next step works', async () => {
    const before = await group.getState(0);
    await expect(group.step([STEPS[0]![0]!, { ...STEPS[0]![1]!, fail: true }])).rejects.toThrow(/replica 1 failed: this shard fails on purpose/);
    const after = [await group.getState(0), await group.getState(1)];
    expect(after[0]!.variables.map((v) => Array.from(v.values))).toEqual(before.variables.map((v) => Array.from(v.values)));
    expect(after[1]!.variables.map((v) => Array.from(v.values))).toEqual(before.variables.map((v) => Array.from(v.values)));
    await group.step(STEPS[1]!);
  });

  it('setState puts the same weights and optimizer state in every replica, and each its own state', async () => {
    const state = await group.getState(0);
    // 3 steps, a failed one (replica 0 computed its loss, replica 1 threw inside it) and one more.
    expect(state.replicas).toEqual([
      { rank: 0, calls: 5 },
      { rank: 1, calls: 5 },
    ]);
    state.variables[0]!.values = state.variables[0]!.values.map((v) => v * 0.5);
    state.replicas = [
      { rank: 0, calls: 40 },
      { rank: 1, calls: 41 },
    ];
    await group.setState(state);
    for (const rank of [0, 1]) expect(Array.from((await group.getState(rank)).variables[0]!.values)).toEqual(Array.from(state.variables[0]!.values));
    expect((await group.getState()).replicas).toEqual(state.replicas);
  });

  it('bad arguments are typed errors', async () => {
    await expect(startDataParallel({ module: replica.file, replicas: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(startDataParallel({ module: 'relative/replica.mjs', replicas: 1 })).rejects.toThrow(/'module' must be a file: URL or an absolute path/);
    await expect(group.step([STEPS[0]![0]!])).rejects.toThrow(/'shards' must hold one shard per replica \(2\), got 1/);
    await expect(group.getState(2)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
