// onHost: host work beside a device backend. A "device" here is a second tfjs-backend-cpu instance under
// another name (with cpu's kernels registered for it), so the test sees which backend holds each tensor
// and counts the reads from the device without a GPU.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from './backend';
import { hostBackendName, onHost } from './host';
import { tf } from './tf';

const DEVICE = 'detkit-test-device';

interface Engine {
  state: { tensorInfo: { get(id: object): { backend: unknown } | undefined } };
  registry: Record<string, unknown>;
}
const engine = () => tf.engine() as unknown as Engine;
const holder = (t: tf.Tensor) => engine().state.tensorInfo.get(t.dataId)?.backend;

describe('onHost', () => {
  let deviceReads = 0;
  beforeAll(async () => {
    await setupBackend('wasm');
    tf.registerBackend(DEVICE, tf.findBackendFactory('cpu')!);
    for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: DEVICE });
    await tf.setBackend(DEVICE);
    const device = tf.backend() as unknown as { readSync(id: object): unknown };
    const read = device.readSync.bind(device);
    device.readSync = (id: object) => {
      deviceReads += 1;
      return read(id);
    };
  });
  afterAll(async () => {
    await setupBackend('cpu');
    tf.removeBackend(DEVICE);
  });

  it('runs fn on wasm (started) while the device is active, then switches back', () => {
    expect(tf.getBackend()).toBe(DEVICE);
    expect(hostBackendName()).toBe('wasm');
    const seen = onHost(() => tf.getBackend());
    expect(seen).toBe('wasm');
    expect(tf.getBackend()).toBe(DEVICE);
  });

  it('returns host tensors that device kernels take by upload, with no read back from the device', () => {
    const before = tf.memory().numTensors;
    deviceReads = 0;
    const out = tf.tidy(() => {
      const x = tf.tensor1d([1, 2, 3]); // made on the device, never read
      const y = onHost(() => tf.mul(tf.tensor1d([4, 5, 6]), 2));
      expect(holder(y)).toBe(engine().registry['wasm']);
      const z = tf.add(x, y); // runs on the device: y moves there
      expect(holder(y)).toBe(engine().registry[DEVICE]);
      return z;
    });
    expect(deviceReads).toBe(0);
    expect(Array.from(out.dataSync())).toEqual([9, 12, 15]);
    out.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('switches back when fn throws', () => {
    expect(() =>
      onHost(() => {
        throw new Error('inside');
      }),
    ).toThrow('inside');
    expect(tf.getBackend()).toBe(DEVICE);
  });

  it('records its ops on the gradient tape: gradients flow through host work', () => {
    const g = tf.grad((x: tf.Tensor) => tf.sum(onHost(() => tf.square(x))))(tf.tensor1d([1, -2, 3]));
    expect(Array.from(g.dataSync())).toEqual([2, -4, 6]);
    expect(tf.getBackend()).toBe(DEVICE);
  });

  it('is a plain call on cpu and wasm', async () => {
    for (const name of ['cpu', 'wasm'] as const) {
      await setupBackend(name);
      expect(onHost(() => tf.getBackend())).toBe(name);
      expect(hostBackendName()).toBe(name);
    }
    await tf.setBackend(DEVICE);
  });
});
