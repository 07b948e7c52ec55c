// Checkpoints saved before the typed recipe (src/fixtures/legacy-artifacts.json, written by
// scripts/legacy-artifacts.mjs from the build of commit 8f79063) still load, read their flat configuration
// as the recipe fields it became, and detect what they detected then.
import { readFileSync } from 'node:fs';
import { useBackend } from '@detkit/backends';
import { tf } from '@detkit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDetector, createFasterRcnn, createSsd, loadDetectorModel, type DetectorConfig } from './index';

interface Saved {
  modelTopology: { format: string; config: Record<string, unknown> };
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: string;
  detections: { boxes: number[]; scores: number[]; labels: number[] };
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/legacy-artifacts.json', import.meta.url), 'utf8')) as {
  image: { size: number; seed: number };
  detectors: Record<'ssd' | 'faster-rcnn', Saved>;
};

function image(): tf.Tensor4D {
  const { size, seed } = fixture.image;
  const pixels = new Float32Array(size * size * 3);
  let s = seed;
  for (let i = 0; i < pixels.length; i++) pixels[i] = ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296) * 2 - 1;
  return tf.tensor4d(pixels, [1, size, size, 3]);
}

function artifacts(saved: Saved): tf.io.ModelArtifacts {
  const bytes = Buffer.from(saved.weightData, 'base64');
  return { modelTopology: saved.modelTopology, weightSpecs: saved.weightSpecs, weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) };
}

describe('legacy checkpoints', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  for (const kind of ['ssd', 'faster-rcnn'] as const) {
    it(`${kind}: loads and detects what it detected when saved`, async () => {
      const saved = fixture.detectors[kind];
      const detector = await loadDetectorModel(artifacts(saved));
      const images = image();
      const [found] = detector.detect(images);
      const expected = saved.detections;
      expect(found!.scores.length).toBe(expected.scores.length);
      expect(Array.from(found!.labels)).toEqual(expected.labels);
      found!.scores.forEach((v, i) => expect(Math.abs(v - expected.scores[i]!)).toBeLessThan(1e-5));
      found!.boxes.forEach((v, i) => expect(Math.abs(v - expected.boxes[i]!)).toBeLessThan(1e-4));
      images.dispose();
      detector.dispose();
    });
  }

  it('their flat fields become the recipe fields, with the constants they were trained with', () => {
    const ssd = createDetector(fixture.detectors.ssd.modelTopology.config as unknown as DetectorConfig);
    const old = fixture.detectors.ssd.modelTopology.config;
    expect(ssd.kind).toBe('ssd');
    if (ssd.kind !== 'ssd') return;
    expect(ssd.config.defaultBoxes).toMatchObject({ aspectRatios: old.aspectRatios, scales: old.scales });
    expect(ssd.config.matcher.threshold).toBe(old.matchThreshold);
    expect(ssd.config.loss.negPosRatio).toBe(old.negPosRatio);
    expect(ssd.config.postprocess).toEqual(old.postprocess);
    const frcnn = createDetector(fixture.detectors['faster-rcnn'].modelTopology.config as unknown as DetectorConfig);
    const f = fixture.detectors['faster-rcnn'].modelTopology.config as {
      anchorSizes: number[];
      anchorRatios: number[];
      rpnBatchSize: number;
      roiBatchSize: number;
      proposals: Record<'train' | 'test', { preNmsTopN: number; postNmsTopN: number; nmsThreshold: number; minSize: number }>;
      postprocess: object;
    };
    if (frcnn.kind !== 'faster-rcnn') throw new Error('not a Faster R-CNN');
    const { anchors, rpn, roiHeads, postprocess } = frcnn.config;
    expect(anchors).toMatchObject({ sizes: f.anchorSizes, aspectRatios: f.anchorRatios });
    expect(rpn).toMatchObject({
      sampler: { batchSize: f.rpnBatchSize },
      preNmsTopN: { training: f.proposals.train.preNmsTopN, testing: f.proposals.test.preNmsTopN },
      postNmsTopN: { training: f.proposals.train.postNmsTopN, testing: f.proposals.test.postNmsTopN },
      nmsThreshold: f.proposals.train.nmsThreshold,
      minSize: f.proposals.train.minSize,
    });
    expect(roiHeads.sampler.batchSize).toBe(f.roiBatchSize);
    // Post-processing as saved (topkCandidates 1000), with the minSize of then: 0.
    expect(postprocess).toEqual({ ...f.postprocess, minSize: 0 });
    ssd.dispose();
    frcnn.dispose();
  });

  it('old option names are still read, and may not be mixed with their new group', () => {
    const a = createFasterRcnn({ numClasses: 2, imageSize: 32, seed: 1, backbone: { channels: [4, 8] }, representationSize: 8, anchorSizes: [8, 16], proposals: { train: { preNmsTopN: 50 } } });
    expect(a.config.anchors.sizes).toEqual([8, 16]);
    expect(a.config.rpn.preNmsTopN.training).toBe(50);
    expect(() => createFasterRcnn({ numClasses: 2, anchorSizes: [8], anchors: { aspectRatios: [1] } })).toThrow(/'anchorSizes' is the old name of a field of 'anchors'/);
    expect(() => createFasterRcnn({ numClasses: 2, proposals: { train: { nmsThreshold: 0.7 }, test: { nmsThreshold: 0.5 } } })).toThrow(/proposals\.test\.nmsThreshold/);
    expect(() => createSsd({ numClasses: 2, matchThreshold: 0.4, matcher: { threshold: 0.5 } })).toThrow(/'matchThreshold'/);
    a.dispose();
  });
});
