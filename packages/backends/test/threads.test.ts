// useBackend('wasm', { threads }): tfjs-backend-wasm's threaded build started in Node. tfjs starts its
// module once per process, so each thread count runs in a child process (test/threads/train.ts, bundled
// with esbuild next to this package's node_modules so that its imports resolve as in an application).
//
// The promise checked: XNNPACK splits its products between threads by output tiles, and detkit's kernels
// (the convolutions and their gradients) by chunks of output rows, so every output element is summed by one
// thread in the same order, and N threads train to the same weights as one, bit for bit.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendInfo } from '../src/index';
import { bundleChild, PACKAGE } from './bundle-child';

interface ChildReport {
  info: BackendInfo;
  losses: number[];
  weights: Record<string, number[]>;
  iou: number[];
  batchNorm: { out: number; dx: number; mean: number[]; variance: number[]; dgamma: number[]; dbeta: number[] };
  transposeMisplaced: number;
  deferred: { dwHash: number; againHash: number; failure: string | null; queued: number; leftOver: number };
  roiAlign: { roi: { out: number; dx: number; nonzero: number }[]; splitCalls: number };
  runAhead: Record<'inPlace' | 'ahead', { losses: number[]; bits: Record<string, number>; queuedAtRead: number; leftJobs: number; leftOver: number }> & {
    long: Record<'inPlace' | 'ahead', number>;
    unneeded: { callerChunks: number; pendingAfterRead: number; same: boolean };
  };
  changeError: string | null;
}

let script: { file: string; remove(): void };

beforeAll(async () => {
  script = await bundleChild('test/threads/train.ts', ['@tensorflow/*', '@detkit/core', '@detkit/boxes', '@detkit/heads']);
});

afterAll(() => script.remove());

/** Runs the child with `threads`; it must exit by itself (code 0) within the timeout. */
function train(threads: number): ChildReport {
  const child = spawnSync(process.execPath, [script.file, String(threads)], { cwd: PACKAGE, encoding: 'utf8', timeout: 90_000, maxBuffer: 64 << 20 });
  expect(child.error, child.stderr).toBeUndefined();
  expect(child.signal, 'the child did not exit by itself').toBeNull();
  expect(child.status, child.stderr).toBe(0);
  return JSON.parse(child.stdout) as ChildReport;
}

describe("useBackend('wasm', { threads }) in Node", () => {
  let one: ChildReport;
  let two: ChildReport;

  beforeAll(() => {
    one = train(1);
    two = train(2);
  }, 200_000);

  it('threads: 1 runs the unthreaded SIMD build, threads: 2 the threaded SIMD build on 2 threads', () => {
    expect(one.info).toMatchObject({ backend: 'wasm', simd: true, threads: 1, threaded: false, xnnpackThreads: 1 });
    // XNNPACK on the calling thread; the second core is detkit's helper's.
    expect(two.info).toMatchObject({ backend: 'wasm', simd: true, threads: 2, threaded: true, xnnpackThreads: 1 });
    // detkit's own kernels: a helper worker beside the calling thread on the threaded build.
    expect(one.info.kernelThreads).toBe(1);
    expect(two.info.kernelThreads).toBe(2);
  });

  it('2 threads train to the same weights as 1 after 3 momentum steps, bit for bit', () => {
    expect(one.losses[2]).toBeLessThan(one.losses[0]!);
    expect(two.losses).toEqual(one.losses);
    for (const name of Object.keys(one.weights)) {
      expect(two.weights[name], name).toEqual(one.weights[name]);
    }
  });

  it('the fused batch norm, split over the helper on 2 threads, gives the bits of 1 thread', () => {
    // Biased variance of N(2, 3^2) samples: about 9; the per-channel sums are added block by block in order.
    for (const v of one.batchNorm.variance) expect(v).toBeCloseTo(9, 0);
    expect(two.batchNorm).toEqual(one.batchNorm);
  });

  it("another package's kernels (@detkit/heads' RoIAlign and its gradient) split over the helper on 2 threads give the bits of 1 thread", () => {
    // Per sampling a forward, and tf.grad's forward and gradient: 6 calls the kernel threads take on 2 threads, none on 1.
    expect(one.roiAlign.splitCalls).toBe(0);
    expect(two.roiAlign.splitCalls).toBe(6);
    for (const r of one.roiAlign.roi) expect(r.nonzero).toBeGreaterThan(0);
    expect(two.roiAlign.roi).toEqual(one.roiAlign.roi);
  });

  it('a weight gradient queued behind the step on 2 threads reads the bits of 1 thread, its inputs freed and overwritten first', () => {
    expect(one.deferred.queued).toBe(0);
    expect(two.deferred.queued).toBeGreaterThan(0);
    expect(two.deferred.dwHash).toBe(one.deferred.dwHash);
    // One disposed unread: nothing left over either way.
    expect(one.deferred.leftOver).toBe(0);
    expect(two.deferred.leftOver).toBe(0);
  });

  it('a queued kernel that traps fails the read of its output with a DetkitError; the queue goes on', () => {
    expect(one.deferred.failure).toMatch(/^RuntimeError/);
    expect(two.deferred.failure).toMatch(/DetkitError: detkit's 'adamUpdate' kernel failed on a helper thread/);
    expect(two.deferred.againHash).toBe(one.deferred.dwHash);
    expect(one.deferred.againHash).toBe(one.deferred.dwHash);
  });

  it('a training step that runs ahead on 2 threads (calls queued, each waiting for its inputs) gives the bits of every call in place, and of 1 thread', () => {
    const { inPlace, ahead } = two.runAhead;
    expect(inPlace.losses[2]).toBeLessThan(inPlace.losses[0]!);
    expect(ahead.losses).toEqual(inPlace.losses);
    expect(ahead.bits).toEqual(inPlace.bits);
    expect(one.runAhead.ahead).toEqual(one.runAhead.inPlace);
    expect(two.runAhead.inPlace.bits).toEqual(one.runAhead.inPlace.bits);
    // Queued: jobs still pending when the step's loss is read (the optimizer's updates); none on 1 thread.
    expect(ahead.queuedAtRead).toBeGreaterThan(0);
    expect(inPlace.queuedAtRead).toBe(0);
    expect(one.runAhead.ahead.queuedAtRead).toBe(0);
    for (const run of [inPlace, ahead, one.runAhead.ahead]) {
      expect(run.leftJobs).toBe(0);
      expect(run.leftOver).toBe(0);
    }
  });

  it("a chain of 1,200 queued calls, past the queue's 512 places, gives the bits of every call in place", () => {
    expect(two.runAhead.long.ahead).toBe(two.runAhead.long.inPlace);
    expect(two.runAhead.long.inPlace).toBe(one.runAhead.long.inPlace);
  });

  it('reading a queued result completes only the calls it needs: older, unrelated queued calls stay pending', () => {
    // 30 unrelated Adds queued before the one read: the calling thread runs chunks of the one it reads only
    // (8 at most: 4 a thread), whatever the helper finished meanwhile.
    expect(two.runAhead.unneeded.callerChunks).toBeLessThanOrEqual(8);
    expect(two.runAhead.unneeded.same).toBe(true);
    expect(one.runAhead.unneeded).toEqual({ callerChunks: 0, pendingAfterRead: 0, same: true });
  });

  it("detkit's transpose, split over the helper on 2 threads, puts every element in its place", () => {
    expect(one.transposeMisplaced).toBe(0);
    expect(two.transposeMisplaced).toBe(0);
  });

  it("detkit's own kernels run in the threaded build's shared memory", () => {
    // boxIou's kernel, hand-checked: box 0 [0,0,10,10] vs [1,1,9,12]: 8 x 9 = 72 / (100 + 88 - 72) = 72/116.
    expect(two.iou[0]).toBeCloseTo(72 / 116, 6);
    expect(two.iou).toEqual(one.iou);
  });

  it('another thread count once wasm runs is a typed error naming threads', () => {
    expect(one.changeError).toMatch(/^threads: .*cannot change to 2: tfjs-backend-wasm already runs 1 thread/);
    expect(two.changeError).toMatch(/^threads: .*cannot change to 1: tfjs-backend-wasm already runs 2 thread/);
  });
});
