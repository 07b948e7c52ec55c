import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { useBackend } from '@detkit/backends';
import { BackendUnavailableError, DetkitError, tf } from '@detkit/core';
import { createLoader, encodePng, syntheticSample, syntheticSource } from '@detkit/data';
import { loadDetectorModel, type Detector } from '@detkit/models';
import { afterAll, describe, expect, it } from 'vitest';
import { latestCheckpoint, readModel } from './checkpoint';
import { runDetect } from './run-detect';
import { runTraining, type EpochRecord, type StepRecord } from './run-training';
import { tinyConfig } from './test-support';


const quiet = { log: () => {} };
const detectors: Detector[] = [];

async function tmp(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'detkit-trainer-'));
}

async function records(out: string): Promise<(StepRecord | EpochRecord)[]> {
  const text = await readFile(path.join(out, 'metrics.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

function isPng(bytes: Uint8Array): boolean {
  return bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
}

/** A validation batch of the tiny run's size. */
async function valImages(): Promise<tf.Tensor4D> {
  const loader = createLoader({ source: syntheticSource({ split: 'val', count: 8 }), imageSize: 64, batchSize: 8, shuffle: false });
  for await (const batch of loader.epoch(0)) {
    const images = tf.clone(batch.images);
    batch.dispose();
    return images;
  }
  throw new Error('no batch');
}

afterAll(() => {
  for (const d of detectors) d.dispose();
});

describe('detkit-train end to end (tiny run)', () => {
  let out = '';
  let uninterrupted: (StepRecord | EpochRecord)[] = [];
  let finalWeights: Record<string, Float32Array> = {};

  it('trains: the loss goes down, and it leaves metrics, plots, drawn detections and checkpoints', async () => {
    out = await tmp();
    const summary = await runTraining(tinyConfig(out), quiet);
    detectors.push(summary.detector);
    uninterrupted = await records(out);
    const steps = uninterrupted.filter((r): r is StepRecord => r.type === 'step');
    const epochs = uninterrupted.filter((r): r is EpochRecord => r.type === 'epoch');
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4]);
    expect(epochs.map((e) => e.epoch)).toEqual([0, 1]);
    expect(steps[3]!.loss).toBeLessThan(steps[0]!.loss);
    expect(Object.keys(steps[0]!.parts)).toEqual(['classification', 'regression']);
    expect(epochs[1]!.map).toBeGreaterThanOrEqual(0);
    expect(summary.finalMap).toBe(epochs[1]!.map);
    for (const file of ['loss.png', 'map.png']) expect(isPng(await readFile(path.join(out, file)))).toBe(true);
    for (const [file, title] of [['loss.svg', '>training loss (moving average of'], ['map.svg', '>validation AP<']] as const) expect(await readFile(path.join(out, file), 'utf8')).toContain(title);
    const drawn = await readdir(path.join(out, 'detections'));
    expect(drawn).toHaveLength(2);
    expect(isPng(await readFile(path.join(out, 'detections', drawn[0]!)))).toBe(true);
    for (const file of ['model.json', 'weights.bin', 'optimizer.json', 'optimizer.bin', 'state.json']) {
      expect(existsSync(path.join(out, 'checkpoints', 'epoch-0002', file)), file).toBe(true);
    }
    expect(existsSync(path.join(out, 'model', 'model.json'))).toBe(true);
    expect((await readdir(path.join(out, 'checkpoints'))).filter((n) => n.startsWith('.tmp'))).toEqual([]);
    finalWeights = Object.fromEntries(Object.entries(summary.detector.variables).map(([k, v]) => [k, v.dataSync() as Float32Array]));
  });

  it('a reloaded checkpoint gives identical predictions', async () => {
    const dir = await latestCheckpoint(out);
    const { artifacts, classes } = await readModel(dir!);
    expect(classes).toEqual(['rectangle', 'ellipse', 'triangle', 'cross']);
    const reloaded = await loadDetectorModel(artifacts);
    detectors.push(reloaded);
    const images = await valImages();
    const trained = detectors[0]!;
    const a = trained.detect(images, { scoreThreshold: 0 });
    const b = reloaded.detect(images, { scoreThreshold: 0 });
    expect(a.reduce((n, d) => n + d.scores.length, 0)).toBeGreaterThan(0);
    expect(b).toEqual(a);
    images.dispose();
  });

  it('killed in the middle of epoch 2 and resumed, it ends exactly where the uninterrupted run ended', async () => {
    const crashed = await tmp();
    const crash = new Error('simulated kill');
    await expect(
      runTraining(tinyConfig(crashed), {
        ...quiet,
        onStep: (r) => {
          if (r.step === 3) throw crash;
        },
      }),
    ).rejects.toBe(crash);
    // The crashed run wrote step 3 to metrics.jsonl after its last checkpoint (epoch 1).
    expect((await records(crashed)).filter((r) => r.type === 'step')).toHaveLength(3);
    const resumed = await runTraining(tinyConfig(crashed, { resume: true }), quiet);
    detectors.push(resumed.detector);
    // Everything but the clock: losses, learning rates, parts, mAP, per-class AP.
    const strip = (r: StepRecord | EpochRecord) => {
      const rest: Record<string, unknown> = { ...r };
      for (const k of ['stepsPerSecond', 'trainSeconds', 'evalSeconds', 'load', 'dataWait', 'dataWaitFraction']) delete rest[k];
      return rest;
    };
    expect((await records(crashed)).map(strip)).toEqual(uninterrupted.map(strip));
    for (const [key, v] of Object.entries(resumed.detector.variables)) {
      expect(Array.from(v.dataSync()), key).toEqual(Array.from(finalWeights[key]!));
    }
  });

  it('detkit-detect runs the saved model on image files and writes boxes as JSON and drawn PNGs', async () => {
    const dir = await tmp();
    const sample = syntheticSample(3, { split: 'val' });
    const image = path.join(dir, 'shapes.png');
    await writeFile(image, encodePng(sample.image as { width: number; height: number; data: Uint8Array }));
    const results = await runDetect({ model: out, images: [image], out: path.join(dir, 'out'), score: 0, backend: 'wasm' }, () => {});
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ file: image, width: 128, height: 128 });
    const json = JSON.parse(await readFile(path.join(dir, 'out', 'detections.json'), 'utf8'));
    expect(json).toEqual(JSON.parse(JSON.stringify(results)));
    for (const d of results[0]!.detections) {
      expect(d.box[2]).toBeLessThanOrEqual(128);
      expect(['rectangle', 'ellipse', 'triangle', 'cross']).toContain(d.class);
    }
    expect(isPng(await readFile(path.join(dir, 'out', 'shapes.png')))).toBe(true);
  });
});

describe('detkit-train: Faster R-CNN and backends', () => {
  it('trains Faster R-CNN end to end on the tiny run', async () => {
    const out = await tmp();
    const summary = await runTraining(
      tinyConfig(out, { model: 'faster-rcnn', epochs: 1, lr: 0.005, modelOptions: { backbone: { channels: [8, 16, 16] }, representationSize: 32 } }),
      quiet,
    );
    detectors.push(summary.detector);
    const steps = (await records(out)).filter((r): r is StepRecord => r.type === 'step');
    expect(Object.keys(steps[0]!.parts)).toEqual(['rpn_objectness', 'rpn_box', 'classifier', 'box_reg']);
    expect(steps.every((s) => Number.isFinite(s.loss))).toBe(true);
    expect(existsSync(path.join(out, 'checkpoints', 'epoch-0001', 'model.json'))).toBe(true);
  });

  it('--backend gpu without @tensorflow/tfjs-node-gpu stops at start with the backends error', async () => {
    const out = path.join(await tmp(), 'never');
    const error = await runTraining(tinyConfig(out, { backend: 'gpu' }), quiet).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(DetkitError.isInstance(error) && error.code).toBe('BACKEND_UNAVAILABLE');
    expect((error as BackendUnavailableError).message).toMatch(/tfjs-node-gpu/);
    expect(existsSync(out)).toBe(false);
  });

  it('--switch-backend-at 2:cpu moves to cpu for epoch 2 with weights, optimizer state and RNG kept', async () => {
    const base = await tmp();
    const plain = await runTraining(tinyConfig(path.join(base, 'plain')), quiet);
    detectors.push(plain.detector);
    try {
      const switched = await runTraining(tinyConfig(path.join(base, 'switched'), { switchBackendAt: { epoch: 2, backend: 'cpu' } }), quiet);
      detectors.push(switched.detector);
      expect(switched.epochs.map((e) => e.backend)).toEqual(['wasm', 'cpu']);
      const steps = async (out: string) => (await records(out)).filter((r): r is StepRecord => r.type === 'step');
      const a = await steps(path.join(base, 'plain'));
      const b = await steps(path.join(base, 'switched'));
      // Epoch 1 ran on wasm in both: identical. Epoch 2 continues from the same state on another backend: the
      // same losses up to the backends' float rounding (a reset optimizer or RNG would change them far more).
      expect(b.slice(0, 2).map((r) => r.loss)).toEqual(a.slice(0, 2).map((r) => r.loss));
      for (let i = 2; i < a.length; i++) expect(Math.abs(b[i]!.loss - a[i]!.loss)).toBeLessThan(1e-3 * Math.abs(a[i]!.loss));
    } finally {
      await useBackend('wasm');
    }
  });
});
