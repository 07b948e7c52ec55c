/**
 * Training on every core, as a user runs it: `detkit-train --threads N` in child processes, on the trainer's
 * default SSD and Faster R-CNN (128 px, batches of 8, 16 images of the synthetic set: 2 steps an epoch, 2
 * epochs). At 2 threads the layers these models train on are split over @detkit/backends' kernel thread and
 * queued ahead of the step (every call of 64 Ki elements or more: the first convolution alone writes
 * 8 x 64 x 64 x 16); the design promises the bits of 1 thread (packages/backends/README.md, "Same weights as
 * one thread, bit for bit"), and a run killed at N threads resumes at any thread count to those bits.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForNode } from '@detkit/test-utils/bundle';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killChildren, metrics, runChild, weightsSha, type ChildResult, type KillPlan } from './child-runs';

const here = path.dirname(fileURLToPath(import.meta.url));
const bundleDir = path.join(here, '..', 'node_modules', '.cache', 'detkit-threads');
/** Time limit of a case (generous: CI machines are shared; a run takes about 3 s here). */
const CHILD_TIMEOUT = 240_000;

let work = '';

type Model = 'ssd' | 'faster-rcnn';

const args = (model: Model, threads: number, out: string) => [
  ...['--model', model, '--threads', String(threads), '-b', '8', '-e', '2', '--train-limit', '16', '--val-limit', '4'],
  ...['--draw', '0', '--no-progress', '-o', out],
];

async function train(model: Model, threads: number, out: string, extra: readonly string[] = [], plan?: KillPlan): Promise<ChildResult> {
  return runChild(bundleDir, 'fault-child.js', [...args(model, threads, out), ...extra], plan);
}

interface Completed {
  weights: string;
  metrics: unknown[];
  stdout: string;
}

/** Runs to the end and returns the run's weights (SHA-256) and metrics without clock fields. */
async function completed(model: Model, threads: number, name: string): Promise<Completed> {
  const out = path.join(work, name);
  const run = await train(model, threads, out);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return { weights: await weightsSha(out), metrics: await metrics(out), stdout: run.stdout };
}

/** The 1-thread run of each model, run once and shared by the cases that compare with it. */
const oneThread = new Map<Model, Promise<Completed>>();
function reference(model: Model): Promise<Completed> {
  if (!oneThread.has(model)) oneThread.set(model, completed(model, 1, `${model}-1`));
  return oneThread.get(model)!;
}

beforeAll(async () => {
  await bundleForNode([path.join(here, 'fault-child.ts')], bundleDir);
  work = await mkdtemp(path.join(tmpdir(), 'detkit-threads-'));
}, CHILD_TIMEOUT);

afterEach(killChildren);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('detkit-train --threads: the weights of 1 thread, bit for bit', () => {
  for (const model of ['ssd', 'faster-rcnn'] as const) {
    it(`${model}: --threads 2 trains 4 steps to the weights and losses of --threads 1`, async () => {
      const one = await reference(model);
      const two = await completed(model, 2, `${model}-2`);
      expect(one.stdout).toMatch(/backend wasm \(1 thread, SIMD\)/);
      expect(two.stdout).toMatch(/backend wasm \(2 threads, SIMD\)/);
      expect(two.metrics.filter((r) => (r as { type: string }).type === 'step')).toHaveLength(4);
      expect(two.metrics).toEqual(one.metrics);
      expect(two.weights).toBe(one.weights);
    }, CHILD_TIMEOUT);
  }

  it('ssd: killed -9 in a step of epoch 2 at --threads 2, --resume at 2 threads and at 1 ends where --threads 1 ended', async () => {
    const one = await reference('ssd');
    for (const resumeThreads of [2, 1]) {
      const out = path.join(work, `ssd-killed-resumed-at-${resumeThreads}`);
      // The parent kills on the child's report of step 3: step 4 (the last) is running, queued on 2 threads.
      const killed = await train('ssd', 2, out, [], { afterStep: { step: 3, delayMs: 0 } });
      expect(killed.signal, 'the run ended before the kill').toBe('SIGKILL');
      const resumed = await train('ssd', resumeThreads, out, ['--resume']);
      expect(resumed.stderr).toBe('');
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).toMatch(/resumed from .*epoch-0001: 1 epoch\(s\), 2 step\(s\) done/);
      expect(await weightsSha(out)).toBe(one.weights);
      expect(await metrics(out)).toEqual(one.metrics);
    }
  }, CHILD_TIMEOUT);
});
