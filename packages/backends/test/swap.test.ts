// Runtime swap: a training run that switches cpu -> wasm -> cpu between steps keeps every variable and
// the optimizer's slots, and its loss curve matches a run that never switched, within 1e-4.
import { tf } from '@detkit/core';
import { describe, expect, it } from 'vitest';
import { createRpnNet, rpnTargets, trainStep } from '@detkit/test-utils/rpn-net';
import { useBackend, type BackendName } from '../src/index';

const SIZE = 32;
const OPTIONS = { widths: [4, 8, 8, 16], midChannels: 16, numAnchors: 3 };

interface Run {
  losses: number[];
  weights: number[][];
  slots: number;
  tensorsPerStep: number[];
}

/** Trains 6 steps, step i on backends[i]; returns the losses, final weights and optimizer slot count. */
async function run(backends: BackendName[]): Promise<Run> {
  await useBackend(backends[0]!);
  const net = createRpnNet(tf, OPTIONS);
  const images = tf.randomUniform([2, SIZE, SIZE, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const targets = rpnTargets(tf, [2, SIZE / 16, SIZE / 16], 3);
  const optimizer = tf.train.momentum(0.05, 0.9);
  const losses: number[] = [];
  const tensorsPerStep: number[] = [];
  for (const backend of backends) {
    await useBackend(backend);
    losses.push(trainStep(tf, net, optimizer, images, targets));
    tensorsPerStep.push(tf.memory().numTensors);
  }
  const weights = net.params.map((p) => Array.from(p.dataSync()));
  const slots = optimizer.getWeights ? (await optimizer.getWeights()).length : 0;
  optimizer.dispose();
  tf.dispose([...net.params, images, targets.labels, targets.targets]);
  return { losses, weights, slots, tensorsPerStep };
}

function expectClose(actual: number[], expected: number[], what: string): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!), `${what} ${i}: ${v} vs ${expected[i]}`).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(expected[i]!))));
}

describe('switching backends between training steps', () => {
  it('cpu -> wasm -> cpu gives the loss curve of cpu only (1e-4), with weights and momentum kept', async () => {
    const steady = await run(['cpu', 'cpu', 'cpu', 'cpu', 'cpu', 'cpu']);
    const switched = await run(['cpu', 'cpu', 'wasm', 'wasm', 'cpu', 'cpu']);
    expect(steady.losses[5]).toBeLessThan(steady.losses[0]!);
    expectClose(switched.losses, steady.losses, 'loss at step');
    switched.weights.forEach((w, i) => expectClose(w, steady.weights[i]!, `weight ${i} element`));
    // The momentum slots (one per variable) plus the iteration count survive the switches.
    expect(switched.slots).toBe(steady.slots);
    expect(switched.slots).toBe(createdParamsCount() + 1);
    // No tensors pile up across switches: the count after each step is the same from step 2 on.
    expect(new Set(switched.tensorsPerStep.slice(1)).size).toBe(1);
  });

  it('wasm -> cpu -> wasm matches wasm only (1e-4)', async () => {
    const steady = await run(['wasm', 'wasm', 'wasm', 'wasm']);
    const switched = await run(['wasm', 'cpu', 'cpu', 'wasm']);
    expectClose(switched.losses, steady.losses, 'loss at step');
  });
});

function createdParamsCount(): number {
  const net = createRpnNet(tf, OPTIONS);
  const n = net.params.length;
  tf.dispose(net.params);
  return n;
}
