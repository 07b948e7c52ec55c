// registerDetectorKind: a kind made outside @detkit/models is rebuilt by createDetector / loadDetector from
// its saved configuration (how @detkit/torchvision's detectors go through the trainer's checkpoints).
import { InvalidArgumentError, tf } from '@detkit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDetector, createSsd, detectorKinds, loadDetectorModel, registerDetectorKind, type Detector, type Ssd } from './index';
import { savedArtifacts } from './test-save';

/** A "foreign" kind: an SSD whose configuration carries another kind and only the fields it needs. */
function toy(numClasses: number, seed: number): Detector<{ kind: string; numClasses: number; imageSize: [number, number] }> {
  const ssd: Ssd = createSsd({ numClasses, imageSize: 32, seed });
  return { kind: 'toy', config: { kind: 'toy', numClasses, imageSize: [32, 32] }, variables: ssd.variables, loss: ssd.loss, detect: ssd.detect, dispose: ssd.dispose };
}

describe('registerDetectorKind', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('lets createDetector and loadDetector rebuild a registered kind with its weights', async () => {
    registerDetectorKind('toy', (config, options) => toy(config.numClasses as number, options.seed ?? 0));
    expect(detectorKinds()).toEqual(['ssd', 'faster-rcnn', 'toy']);
    const original = toy(2, 1);
    const artifacts = await savedArtifacts(original as never);
    const loaded = (await loadDetectorModel(artifacts)) as unknown as Detector<{ kind: string }>;
    expect(loaded.config).toEqual(original.config);
    for (const [key, v] of Object.entries(original.variables)) expect(Array.from(loaded.variables[key]!.dataSync())).toEqual(Array.from(v.dataSync()));
    // A fresh one from the configuration alone has other (seeded) weights but the same variables.
    const fresh = createDetector({ kind: 'toy', numClasses: 2 }, { seed: 5 });
    expect(Object.keys(fresh.variables)).toEqual(Object.keys(original.variables));
    [original, loaded, fresh].forEach((d) => d.dispose());
  });

  it('names what is wrong', () => {
    expect(() => createDetector({ kind: 'nope' })).toThrow(/config\.kind.*'ssd', 'faster-rcnn'.*got "nope"/);
    expect(() => registerDetectorKind('ssd', () => toy(1, 0))).toThrow(InvalidArgumentError);
    expect(() => registerDetectorKind('', () => toy(1, 0))).toThrow(/kind/);
    expect(() => registerDetectorKind('x', 3 as never)).toThrow(/factory/);
  });
});
