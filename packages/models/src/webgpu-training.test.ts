// Training the two trainer models on WebGPU in Node (Dawn on SwiftShader's software Vulkan driver, which
// Debian's chromium ships): two steps lower the loss and give wasm's losses and weights; and an SSD run
// that switches wasm -> webgpu -> wasm between steps ends with the weights and momentum slots of a run
// that never switched (the state moves to the device and back). Tiny images (32 px, batch 1): SwiftShader runs every shader on the CPU. Without the driver
// every test here fails saying what to install (provideSoftwareVulkan).
import { useBackend, type BackendName } from '@detkit/backends';
import { createRandom, setValueChecks, tf } from '@detkit/core';
import { provideSoftwareVulkan } from '@detkit/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFasterRcnn, createSsd, disposeOptimizer, optimizerState, trainableVariables, type Detector, type ImageTargets } from './index';

let setupError: unknown;
try {
  provideSoftwareVulkan();
} catch (error) {
  setupError = error;
}

const SIZE = 32;
/**
 * How far webgpu's losses and weights may be from wasm's, relative to max(1, |value|). Both run the same
 * float32 arithmetic but in other orders (GPU reductions, atomics in RoIAlign's gradient, fused
 * multiply-adds), which after a few SGD-momentum steps leaves differences of about 1e-6 here.
 */
const TOLERANCE = 1e-4;

const TARGETS: ImageTargets[] = [{ boxes: new Float32Array([2, 3, 15, 20, 10, 10, 30, 25]), labels: new Int32Array([0, 2]) }];

type Kind = 'ssd' | 'faster-rcnn';

function build(kind: Kind): Detector {
  // The trainer's defaults (createSsd / createFasterRcnn with their default backbone), at 32 px.
  const options = { numClasses: 3, imageSize: SIZE, seed: 0 };
  return kind === 'ssd' ? createSsd(options) : createFasterRcnn(options);
}

interface Run {
  losses: number[];
  weights: Float32Array[];
  slots: Float32Array[];
}

/** Trains a fresh detector one SGD-momentum step per entry of `backends`, switching backend before each. */
async function train(kind: Kind, backends: readonly BackendName[]): Promise<Run> {
  await useBackend(backends[0]!);
  const detector = build(kind);
  const variables = trainableVariables(detector);
  const images = tf.randomUniform([1, SIZE, SIZE, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const optimizer = tf.train.momentum(0.01, 0.9);
  const rand = createRandom(7);
  const losses: number[] = [];
  for (const backend of backends) {
    await useBackend(backend);
    const cost = optimizer.minimize(() => detector.loss(images, TARGETS, { rng: rand }).total, true, variables) as tf.Scalar;
    losses.push((await cost.data())[0] as number);
    cost.dispose();
  }
  await useBackend('wasm');
  const weights = await Promise.all(variables.map(async (v) => (await v.data()) as Float32Array));
  const state = await optimizerState(optimizer);
  const slots = await Promise.all(state.map(async (s) => (await s.tensor.data()) as Float32Array));
  tf.dispose(state.map((s) => s.tensor));
  disposeOptimizer(optimizer);
  images.dispose();
  detector.dispose();
  return { losses, weights, slots };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs((actual[i] as number) - (expected[i] as number)) / Math.max(1, Math.abs(expected[i] as number));
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  expect(worst, `${what}: element ${at} is ${actual[at]}, wasm ${expected[at]}`).toBeLessThanOrEqual(TOLERANCE);
}

describe.each(['ssd', 'faster-rcnn'] as const)('%s on webgpu (Dawn, SwiftShader)', (kind) => {
  let wasm: Run;
  beforeAll(async () => {
    if (setupError === undefined) wasm = await train(kind, ['wasm', 'wasm']);
  }, 120_000);

  it('two steps lower the loss and give the wasm losses and weights', async () => {
    if (setupError !== undefined) throw setupError;
    const gpu = await train(kind, ['webgpu', 'webgpu']);
    expect(gpu.losses[1]).toBeLessThan(gpu.losses[0] as number);
    expectClose(gpu.losses, wasm.losses, 'losses');
    gpu.weights.forEach((w, i) => expectClose(w, wasm.weights[i]!, `variable ${i}`));
  }, 240_000);
});

describe('switching backend between steps', () => {
  it('wasm -> webgpu -> wasm keeps weights and momentum slots (SSD)', async () => {
    if (setupError !== undefined) throw setupError;
    const straight = await train('ssd', ['wasm', 'wasm', 'wasm', 'wasm']);
    const swapped = await train('ssd', ['wasm', 'webgpu', 'wasm', 'wasm']);
    expectClose(swapped.losses, straight.losses, 'losses');
    expect(swapped.slots.length).toBe(straight.slots.length);
    expect(swapped.slots.length).toBeGreaterThan(0);
    swapped.weights.forEach((w, i) => expectClose(w, straight.weights[i]!, `variable ${i}`));
    swapped.slots.forEach((s, i) => expectClose(s, straight.slots[i]!, `momentum slot ${i}`));
  }, 240_000);
});

describe('an SSD step without reads back from the GPU', () => {
  // What a browser needs: there a synchronous read on webgpu goes through a canvas, which headless Chromium on
  // SwiftShader cannot do (apps/playground README). With value checks off (they read tensors to check them),
  // the step builds its targets on the host and mines hard negatives on the device: no GPU buffer is read
  // until the caller awaits the loss.
  it('reads no GPU buffer in a training step with value checks off', async () => {
    if (setupError !== undefined) throw setupError;
    await useBackend('wasm'); // started, so the host work runs on wasm
    await useBackend('webgpu');
    const detector = build('ssd');
    const images = tf.randomUniform([2, SIZE, SIZE, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const optimizer = tf.train.momentum(0.01, 0.9);
    const rand = createRandom(7);
    const backend = tf.backend() as unknown as { readSync(id: object): unknown; tensorMap: { get(id: object): { values: unknown } } };
    const readSync = backend.readSync;
    let gpuReads = 0;
    backend.readSync = function (this: typeof backend, id: object) {
      if (this.tensorMap.get(id).values == null) gpuReads += 1; // values still on the host cost no read
      return readSync.call(this, id);
    };
    const losses: number[] = [];
    setValueChecks(false);
    try {
      for (let step = 0; step < 2; step++) {
        const targets = step === 0 ? [TARGETS[0]!, { boxes: new Float32Array(0), labels: new Int32Array(0) }] : [TARGETS[0]!, TARGETS[0]!];
        const cost = optimizer.minimize(() => detector.loss(images, targets, { rng: rand }).total, true, trainableVariables(detector)) as tf.Scalar;
        expect(gpuReads, `reads from the GPU in step ${step}`).toBe(0);
        losses.push((await cost.data())[0] as number);
        cost.dispose();
      }
      // Leaving webgpu: useBackend reads the variables (weights, momentum slots) asynchronously first, so
      // moving them to wasm for the next step reads no GPU buffer either.
      await useBackend('wasm');
      const onWasm = tf.randomUniform([2, SIZE, SIZE, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      const cost = optimizer.minimize(() => detector.loss(onWasm, [TARGETS[0]!, TARGETS[0]!], { rng: rand }).total, true, trainableVariables(detector)) as tf.Scalar;
      losses.push((await cost.data())[0] as number);
      tf.dispose([cost, onWasm]);
      expect(gpuReads, 'reads from the GPU when the step moved to wasm').toBe(0);
    } finally {
      setValueChecks(true);
      backend.readSync = readSync;
      disposeOptimizer(optimizer);
      images.dispose();
      detector.dispose();
    }
    expect(losses.every(Number.isFinite)).toBe(true);
  }, 240_000);
});
