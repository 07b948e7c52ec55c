import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { useBackend } from '@detkit/backends';
import { DetkitError, InvalidArgumentError, tf } from '@detkit/core';
import { boxesToOriginal, createLoader, decodeImage, encodePng, type RgbImage } from '@detkit/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DETECTOR_FORMAT_VERSION,
  UnsupportedFormatVersionError,
  createSsd,
  loadDetector,
  loadDetectorModel,
  type Detection,
  type ImageDetector,
} from './index';
import { savedArtifacts } from './test-save';

const CLASSES = ['circle', 'square'];

/** A 90 x 60 image (not square: the letterbox pads it) with two coloured rectangles; deterministic. */
function testImage(): RgbImage {
  const width = 90;
  const height = 60;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = 3 * (y * width + x);
      const inA = x >= 10 && x < 40 && y >= 8 && y < 30;
      const inB = x >= 50 && x < 85 && y >= 25 && y < 55;
      data[o] = inA ? 230 : (x * 2) % 64;
      data[o + 1] = inB ? 220 : (y * 3) % 64;
      data[o + 2] = inA || inB ? 40 : 20;
    }
  }
  return { width, height, data };
}

/** The model.json + weights.bin the reference trainer writes (saveDetector, classes in userDefinedMetadata). */
async function writeModelFolder(dir: string, topologyPatch: Record<string, unknown> = {}): Promise<tf.io.ModelArtifacts> {
  const ssd = createSsd({ numClasses: 2, imageSize: 64, seed: 0 });
  const saved = await savedArtifacts(ssd);
  ssd.dispose();
  const modelTopology = { ...(saved.modelTopology as object), ...topologyPatch };
  const json = {
    format: saved.format,
    generatedBy: saved.generatedBy,
    modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: saved.weightSpecs }],
    userDefinedMetadata: { classes: CLASSES },
  };
  writeFileSync(path.join(dir, 'weights.bin'), new Uint8Array(saved.weightData as ArrayBuffer));
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  return { ...saved!, modelTopology, userDefinedMetadata: { classes: CLASSES } };
}

/** What apps/trainer/src/run-detect.ts computes for one image: the reference the one-call API must match. */
async function trainerDetections(artifacts: tf.io.ModelArtifacts, image: RgbImage, scoreThreshold: number): Promise<Detection[]> {
  const model = await loadDetectorModel(artifacts);
  const [h, w] = model.config.imageSize;
  const sample = { id: 'x', image, width: image.width, height: image.height, boxes: new Float32Array(0), labels: new Int32Array(0), iscrowd: new Uint8Array(0), difficult: new Uint8Array(0) };
  const loader = createLoader({ source: [sample], imageSize: [h, w], batchSize: 1, shuffle: false });
  const out: Detection[] = [];
  for await (const batch of loader.epoch(0)) {
    const [found] = model.detect(batch.images, { scoreThreshold });
    const boxes = boxesToOriginal(found!.boxes, batch.meta[0]!);
    found!.scores.forEach((score, i) => {
      const label = found!.labels[i]!;
      out.push({ box: Array.from(boxes.subarray(4 * i, 4 * i + 4)) as Detection['box'], score, label, className: CLASSES[label]! });
    });
    batch.dispose();
  }
  model.dispose();
  return out;
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`loadDetector + detect [${backend}]`, () => {
    let dir: string;
    let artifacts: tf.io.ModelArtifacts;
    let imageFile: string;
    let detector: ImageDetector;
    const image = testImage();

    beforeAll(async () => {
      await useBackend(backend);
      dir = mkdtempSync(path.join(os.tmpdir(), 'detkit-load-detector-'));
      artifacts = await writeModelFolder(dir);
      imageFile = path.join(dir, 'image.png');
      writeFileSync(imageFile, encodePng(image));
      detector = await loadDetector(dir);
    });

    afterAll(() => {
      detector?.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it('gives the trainer detkit-detect numbers, in the image pixels, with class names', async () => {
      const expected = await trainerDetections(artifacts, image, 0.05);
      const found = await detector.detect(imageFile, { scoreThreshold: 0.05 });
      // An untrained SSD with 3 outputs per box scores about 1/3: there must be detections to compare.
      expect(found.length).toBeGreaterThan(0);
      expect(found).toEqual(expected);
      for (const d of found) {
        expect(d.box[0]).toBeGreaterThanOrEqual(0);
        expect(d.box[2]).toBeLessThanOrEqual(image.width);
        expect(d.box[3]).toBeLessThanOrEqual(image.height);
        expect(d.className).toBe(CLASSES[d.label]);
      }
      expect(detector.classes).toEqual(CLASSES);
      expect(detector.formatVersion).toBe(DETECTOR_FORMAT_VERSION);
      expect(detector.inputSize).toEqual([64, 64]);
    });

    it('reads every kind of source alike: folder, model.json, file:// URL, run folder, IOHandler, artifacts', async () => {
      const reference = await detector.detect(image, { scoreThreshold: 0.05 });
      // A run folder of the reference trainer keeps its model in model/.
      const run = path.join(dir, 'run');
      mkdirSync(path.join(run, 'model'), { recursive: true });
      for (const f of ['model.json', 'weights.bin']) copyFileSync(path.join(dir, f), path.join(run, 'model', f));
      const sources = [path.join(dir, 'model.json'), pathToFileURL(dir).href, run, tf.io.fromMemory(artifacts), artifacts];
      for (const source of sources) {
        const other = await loadDetector(source, { classes: CLASSES });
        expect(await other.detect(image, { scoreThreshold: 0.05 })).toEqual(reference);
        other.dispose();
      }
    });

    it('takes a path, PNG bytes, an ArrayBuffer, ImageData-like RGBA and a Tensor3D alike', async () => {
      const reference = await detector.detect(imageFile, { scoreThreshold: 0.05 });
      const png = encodePng(image);
      const rgba = new Uint8ClampedArray(image.width * image.height * 4);
      for (let i = 0; i < image.width * image.height; i++) rgba.set([image.data[3 * i]!, image.data[3 * i + 1]!, image.data[3 * i + 2]!, 255], 4 * i);
      const tensor = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
      const inputs = [png, png.slice().buffer, { width: image.width, height: image.height, data: rgba }, tensor, decodeImage(png)];
      for (const input of inputs) expect(await detector.detect(input as never, { scoreThreshold: 0.05 })).toEqual(reference);
      expect(tensor.isDisposed).toBe(false);
      tensor.dispose();
    });

    it('applies scoreThreshold and maxDetections; detectBatch is detect per image', async () => {
      const all = await detector.detect(image, { scoreThreshold: 0.05 });
      const high = await detector.detect(image, { scoreThreshold: 0.34 });
      expect(high.every((d) => d.score > 0.34)).toBe(true);
      expect(high).toEqual(all.filter((d) => d.score > 0.34));
      const two = await detector.detect(image, { scoreThreshold: 0.05, maxDetections: 2 });
      expect(two).toEqual(all.slice(0, 2));
      const batch = await detector.detectBatch([image, imageFile], { scoreThreshold: 0.05 });
      expect(batch).toEqual([all, all]);
      expect(await detector.detectBatch([])).toEqual([]);
    });

    it('leaves no tensor behind', async () => {
      await detector.detect(image); // warm-up: kernels and backend state allocate once
      const before = tf.memory().numTensors;
      await detector.detect(imageFile, { scoreThreshold: 0.05 });
      await detector.detectBatch([image]);
      expect(tf.memory().numTensors).toBe(before);
    });
  });
}

describe('loadDetector errors and format versions', () => {
  let dir: string;
  beforeAll(async () => {
    await useBackend('cpu');
    dir = mkdtempSync(path.join(os.tmpdir(), 'detkit-load-detector-errors-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('saveDetector writes the format version; files without one load as version 1', async () => {
    const current = await writeModelFolder(dir);
    expect((current.modelTopology as { version?: number }).version).toBe(1);
    const { version: _, ...old } = current.modelTopology as Record<string, unknown>;
    const detector = await loadDetector({ ...current, modelTopology: old });
    expect(detector.formatVersion).toBe(1);
    detector.dispose();
  });

  it('a newer or unknown version is an UnsupportedFormatVersionError naming the version this package reads', async () => {
    await writeModelFolder(dir, { version: 2 });
    const newer = await loadDetector(dir).catch((e: unknown) => e);
    expect(newer).toBeInstanceOf(UnsupportedFormatVersionError);
    expect(newer).toBeInstanceOf(InvalidArgumentError);
    expect(DetkitError.isInstance(newer)).toBe(true);
    expect((newer as UnsupportedFormatVersionError).version).toBe(2);
    expect((newer as UnsupportedFormatVersionError).supportedVersion).toBe(1);
    expect((newer as Error).message).toMatch(/format version 2; this @detkit\/models reads version 1/);
    // The batched-tensor loader refuses it too.
    await expect(loadDetectorModel(tf.io.fromMemory({ modelTopology: { format: 'detkit-detector', version: 2, config: {} } }))).rejects.toBeInstanceOf(UnsupportedFormatVersionError);
    await writeModelFolder(dir, { version: 'one' });
    await expect(loadDetector(dir)).rejects.toThrow(/unknown detkit-detector format version "one"/);
  });

  it('bad sources, images and options are InvalidArgumentErrors naming the argument', async () => {
    await expect(loadDetector(path.join(dir, 'missing'))).rejects.toThrow(/'source'.*cannot be read/);
    await expect(loadDetector(42 as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(loadDetector({ modelTopology: { format: 'keras' } })).rejects.toThrow(/does not hold a detkit detector/);
    await writeModelFolder(dir);
    const detector = await loadDetector(dir);
    await expect(detector.detect(42 as never)).rejects.toThrow(/'image' must be a file path/);
    await expect(detector.detect(path.join(dir, 'nope.png'))).rejects.toThrow(/'image'.*cannot be read/);
    await expect(detector.detect(new Uint8Array([1, 2, 3]))).rejects.toThrow(/neither a PNG nor a JPEG/);
    const wrongShape = tf.zeros([4, 4]);
    await expect(detector.detect(wrongShape as never)).rejects.toThrow(/Tensor3D \[H, W, 3\]/);
    wrongShape.dispose();
    await expect(detector.detect(testImage(), { scoreThreshold: 2 })).rejects.toThrow(/'scoreThreshold' must be a number in \[0, 1\]/);
    await expect(detector.detect(testImage(), { maxDetections: 0 })).rejects.toThrow(/'maxDetections' must be an integer >= 1/);
    detector.dispose();
    await expect(detector.detect(testImage())).rejects.toThrow(/'detector' was disposed/);
  });
});
