// A conv-net training step on wasm: impossible on stock tfjs-backend-wasm 4.22, and after
// registerWasmTrainingKernels() the same losses as on cpu, with no tensor leaks. (Each test file runs in
// its own process, so the kernel registry starts stock here.)
import { setupBackend, tf } from '@detkit/core';
import { expectNoLeaks } from '@detkit/test-utils';
import { describe, expect, it } from 'vitest';
import { createRpnNet, rpnTargets, trainStep } from '@detkit/test-utils/rpn-net';
import { ADDED_WASM_KERNELS, registerWasmTrainingKernels, REPLACED_WASM_KERNELS, useBackend } from '../src/index';

const SIZE = 32;
const OPTIONS = { widths: [4, 8, 8, 16], midChannels: 16, numAnchors: 3 };

/** Losses of `steps` SGD-momentum steps from the same initial weights on the active backend. */
function train(steps: number): number[] {
  const net = createRpnNet(tf, OPTIONS);
  const images = tf.randomUniform([2, SIZE, SIZE, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const targets = rpnTargets(tf, [2, SIZE / 16, SIZE / 16], 3);
  const optimizer = tf.train.momentum(0.05, 0.9);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) losses.push(trainStep(tf, net, optimizer, images, targets));
  optimizer.dispose();
  tf.dispose([...net.params, images, targets.labels, targets.targets]);
  return losses;
}

describe('training on wasm', () => {
  it('stock tfjs-backend-wasm 4.22 lacks the kernels and cannot take a conv-net training step', async () => {
    for (const name of ADDED_WASM_KERNELS) expect(tf.getKernel(name, 'wasm'), name).toBeUndefined();
    await setupBackend('wasm');
    expect(() => train(1)).toThrow(/Conv2DBackpropFilter|not registered|not yet implemented/);
  });

  it('registerWasmTrainingKernels adds and replaces the kernels, once', () => {
    const added = registerWasmTrainingKernels();
    expect(new Set(added)).toEqual(new Set([...ADDED_WASM_KERNELS, ...REPLACED_WASM_KERNELS]));
    for (const name of added) expect(tf.getKernel(name, 'wasm'), name).toBeDefined();
    expect(registerWasmTrainingKernels()).toEqual([]);
  });

  it('then a training step runs on wasm and gives the cpu losses within 1e-4', async () => {
    await useBackend('cpu');
    const cpu = train(4);
    await useBackend('wasm');
    const wasm = train(4);
    expect(cpu[3]).toBeLessThan(cpu[0] as number);
    wasm.forEach((loss, i) => expect(Math.abs(loss - (cpu[i] as number)), `step ${i}`).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(cpu[i] as number))));
  });

  it('leaves no tensors behind on wasm: a step after the first (which makes the momentum slots) adds none', async () => {
    await useBackend('wasm');
    const net = createRpnNet(tf, OPTIONS);
    const images = tf.randomUniform([2, SIZE, SIZE, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const targets = rpnTargets(tf, [2, SIZE / 16, SIZE / 16], 3);
    const optimizer = tf.train.momentum(0.05, 0.9);
    trainStep(tf, net, optimizer, images, targets);
    await expectNoLeaks(() => trainStep(tf, net, optimizer, images, targets));
    optimizer.dispose();
    tf.dispose([...net.params, images, targets.labels, targets.targets]);
  });
});
