import { describe, expect, it } from 'vitest';
import { defaultConfig } from './config';
import { SSD_MATCH_THRESHOLD } from '@detkit/matchers';
import { autoAnchorSizes, autoAspectRatios, autoImageSize, autoSsdLevels, autoSsdMatchThreshold, autoSsdScales, dataStats, MAX_AUTO_IMAGE_SIZE_SSD, resolveRun, SSD_SMALL_OBJECT_MATCH_THRESHOLD } from './recipe';

/** A source of `n` images `side` px wide whose boxes are squares of the given sides. */
function source(side: number, boxSides: number[], aspect = 1) {
  const sample = (i: number) => {
    const s = boxSides[i % boxSides.length] as number;
    return {
      id: i,
      image: '',
      width: side,
      height: side,
      boxes: Float32Array.of(0, 0, s * Math.sqrt(aspect), s / Math.sqrt(aspect)),
      labels: Int32Array.of(0),
      iscrowd: Uint8Array.of(0),
      difficult: Uint8Array.of(0),
    };
  };
  return { length: 100, classes: ['a'], get: sample };
}

describe('the recipe chosen from the data', () => {
  it('image size: the median longer side, capped, raised for tiny objects, a multiple of 32', () => {
    expect(autoImageSize(256, 0.05)).toBe(256);
    expect(autoImageSize(1024, 0.05)).toBe(320); // capped
    expect(autoImageSize(100, 0.2)).toBe(128); // floor
    expect(autoImageSize(200, 0.02)).toBe(320); // 2% of 200 px = 4 px objects: raised towards 8 / 0.02 = 400, capped
    expect(autoImageSize(256, 0.05, 128)).toBe(128); // a cap
    expect(autoImageSize(100, 0.05, 128)).toBe(128); // 100 px, raised for 5-px objects to 160, capped at 128
    expect(autoImageSize(256, 0.05, MAX_AUTO_IMAGE_SIZE_SSD)).toBe(160); // SSD's cap
    expect(autoImageSize(100, 0.02, MAX_AUTO_IMAGE_SIZE_SSD)).toBe(160); // 2-px objects: raised to 400, capped at 160
  });

  it('SSD scales span the 2%-98% object sizes geometrically; anchors likewise; ratios widen for elongated boxes', async () => {
    const stats = await dataStats(source(256, [12, 24, 48, 96, 120]));
    expect(stats.relativeSize[0]).toBeCloseTo(12 / 256, 6);
    expect(stats.relativeSize[4]).toBeCloseTo(120 / 256, 6);
    const scales = autoSsdScales(stats);
    expect(scales).toHaveLength(4);
    expect(scales[0]).toBeCloseTo((12 / 256) * 1.1, 2);
    // The last level's larger box, sqrt(s2 s3), is the largest objects' size.
    expect(Math.sqrt(scales[2]! * scales[3]!)).toBeCloseTo(120 / 256, 2);
    for (let k = 1; k < 4; k++) expect(scales[k]! / scales[k - 1]!).toBeCloseTo(scales[1]! / scales[0]!, 1);
    // 12 x 10^(k/3) for k = 0..3: 12, 25.9, 55.7, 120 px, rounded.
    expect(autoAnchorSizes(stats, 256)).toEqual([12, 26, 56, 120]);
    expect(autoAspectRatios(stats)).toEqual([[2], [2], [2]]);
    expect(autoAspectRatios(await dataStats(source(256, [40], 4)))).toEqual([[2, 3], [2, 3], [2, 3]]);
  });

  it('SSD levels: strides 4, 8, 16 when the smallest objects are under 16 px at the input size, else 8, 16, 32', async () => {
    const stats = await dataStats(source(256, [12, 120]));
    // 12 px of 256 at 128 px: 6 px, under 16.
    expect(autoSsdLevels(stats, 128)).toEqual({ channels: [16, 32, 64, 96], convsPerStage: [1, 2, 2, 2], outputStrides: [4, 8, 16] });
    // At 384 px: 18 px.
    expect(autoSsdLevels(stats, 384)).toEqual({ channels: [16, 32, 64, 96, 128], convsPerStage: [1, 1, 2, 2, 2], outputStrides: [8, 16, 32] });
    const real = await resolveRun(defaultConfig('ssd'), source(256, [12, 120]), false);
    expect(real.modelOptions.backbone).toEqual({ channels: [16, 32, 64, 96], convsPerStage: [1, 2, 2, 2], outputStrides: [4, 8, 16] });
    expect((real.modelOptions.defaultBoxes as { steps: number[] }).steps).toEqual([4, 8, 16]);
    // At SSD's automatic 160 px the 12-px objects are 7.5 px, printed rounded.
    expect(real.notes.join('\n')).toMatch(/feature levels at strides 4, 8, 16 \(smallest objects 8 px; backbone stages \[16,32,64,96\], \[1,2,2,2\] convolutions\)/);
    // A user's backbone field is merged over the chosen levels; strides of their own turn the choice off.
    const noNorm = await resolveRun({ ...defaultConfig('ssd'), modelOptions: { backbone: { batchNorm: false } } }, source(256, [12, 120]), false);
    expect(noNorm.modelOptions.backbone).toEqual({ channels: [16, 32, 64, 96], convsPerStage: [1, 2, 2, 2], outputStrides: [4, 8, 16], batchNorm: false });
    const own = await resolveRun({ ...defaultConfig('ssd'), modelOptions: { backbone: { outputStrides: [8, 16, 32] } } }, source(256, [12, 120]), false);
    expect(own.modelOptions.backbone).toEqual({ outputStrides: [8, 16, 32] });
    expect(own.modelOptions.defaultBoxes).not.toHaveProperty('steps');
    // Large objects keep the built-in set's levels.
    const large = await resolveRun(defaultConfig('ssd'), source(256, [64, 200]), false);
    expect(large.modelOptions.backbone).toEqual({ channels: [16, 32, 64, 96, 128], convsPerStage: [1, 1, 2, 2, 2], outputStrides: [8, 16, 32] });
  });

  it("SSD's matcher threshold: lower for objects under 16 px at the input size, SSD's 0.5 otherwise; the user's wins", async () => {
    expect(SSD_SMALL_OBJECT_MATCH_THRESHOLD).toBeLessThan(SSD_MATCH_THRESHOLD);
    const small = await dataStats(source(256, [12, 120])); // 12 px at 256 = 6 px at 128
    expect(autoSsdMatchThreshold(small, 128)).toBe(SSD_SMALL_OBJECT_MATCH_THRESHOLD);
    expect(autoSsdMatchThreshold(small, 384)).toBe(SSD_MATCH_THRESHOLD); // 18 px
    const real = await resolveRun(defaultConfig('ssd'), source(256, [12, 120]), false);
    expect(real.modelOptions.matcher).toEqual({ threshold: SSD_SMALL_OBJECT_MATCH_THRESHOLD });
    expect(real.notes.some((n) => n.startsWith(`matcher threshold ${SSD_SMALL_OBJECT_MATCH_THRESHOLD} `))).toBe(true);
    // Large objects, the synthetic set and Faster R-CNN keep their matchers' defaults (nothing is passed).
    expect((await resolveRun(defaultConfig('ssd'), source(256, [64, 200]), false)).modelOptions).not.toHaveProperty('matcher');
    expect((await resolveRun(defaultConfig('ssd'), source(128, [20]), true)).modelOptions).not.toHaveProperty('matcher');
    expect((await resolveRun(defaultConfig('faster-rcnn'), source(256, [12, 120]), false)).modelOptions).not.toHaveProperty('matcher');
    // The user's threshold (or its old name) wins and is not reported as chosen.
    const own = await resolveRun({ ...defaultConfig('ssd'), modelOptions: { matcher: { threshold: 0.5 } } }, source(256, [12, 120]), false);
    expect(own.modelOptions.matcher).toEqual({ threshold: 0.5 });
    expect(own.notes.some((n) => n.startsWith('matcher threshold'))).toBe(false);
    const legacy = await resolveRun({ ...defaultConfig('ssd'), modelOptions: { matchThreshold: 0.45 } }, source(256, [12, 120]), false);
    expect(legacy.modelOptions).not.toHaveProperty('matcher');
  });

  it("batch 'auto': SSD 16 on the synthetic set and 8 on other data, the other models their own; a number wins", async () => {
    expect((await resolveRun(defaultConfig('ssd'), source(128, [20]), true)).batchSize).toBe(16);
    expect((await resolveRun(defaultConfig('ssd'), source(256, [12, 120]), false)).batchSize).toBe(8);
    expect((await resolveRun({ ...defaultConfig('faster-rcnn'), batchSize: 'auto' }, source(256, [12, 120]), false)).batchSize).toBe(8);
    expect((await resolveRun({ ...defaultConfig('fasterrcnn-resnet50-fpn'), batchSize: 'auto' }, source(256, [12, 120]), false)).batchSize).toBe(4);
    expect((await resolveRun({ ...defaultConfig('ssd'), batchSize: 12 }, source(256, [12, 120]), false)).batchSize).toBe(12);
  });

  it("lr 'auto': SSD 4e-3 on the synthetic set and 8e-3 on other data, the other models their own; a number wins", async () => {
    expect((await resolveRun(defaultConfig('ssd'), source(128, [20]), true)).lr).toBe(4e-3);
    const real = await resolveRun(defaultConfig('ssd'), source(256, [12, 120]), false);
    expect(real.lr).toBe(8e-3);
    expect(real.notes).toContain('lr 0.008 (--lr to change)');
    expect((await resolveRun({ ...defaultConfig('faster-rcnn'), lr: 'auto' }, source(256, [12, 120]), false)).lr).toBe(2e-3);
    expect((await resolveRun({ ...defaultConfig('ssd'), lr: 0.01 }, source(256, [12, 120]), false)).lr).toBe(0.01);
  });

  it('resolves auto fields: the synthetic defaults, or a time budget and the data-derived options; user options win', async () => {
    const synthetic = await resolveRun(defaultConfig('ssd'), source(128, [20]), true);
    expect(synthetic).toMatchObject({ imageSize: 128, epochs: 6, time: 0, augment: 'flip', workers: 1, modelOptions: {} });
    const real = await resolveRun(defaultConfig('ssd'), source(256, [12, 120]), false);
    expect(real).toMatchObject({ imageSize: 160, epochs: null, time: 600, augment: 'flip', workers: 1 });
    // SSD's own augmentation from a 30-minute budget or 30 epochs on.
    expect((await resolveRun({ ...defaultConfig('ssd'), time: 1800 }, source(256, [12, 120]), false)).augment).toBe('ssd');
    expect((await resolveRun({ ...defaultConfig('ssd'), epochs: 30 }, source(256, [12, 120]), false)).augment).toBe('ssd');
    expect((await resolveRun({ ...defaultConfig('ssd'), epochs: 29 }, source(256, [12, 120]), false)).augment).toBe('flip');
    expect((real.modelOptions.defaultBoxes as { scales: number[] }).scales).toHaveLength(4);
    // torchvision's trainable_backbone_layers: 0-5 for ResNet-50, 0-6 for MobileNetV3.
    await expect(resolveRun({ ...defaultConfig('fasterrcnn-resnet50-fpn'), trainableBackboneLayers: 6 }, source(256, [12, 120]), false)).rejects.toThrow(/trainableBackboneLayers.*must be 0-5 for fasterrcnn-resnet50-fpn/);
    await expect(resolveRun({ ...defaultConfig('fasterrcnn-resnet50-fpn'), trainableBackboneLayers: 5 }, source(256, [12, 120]), false)).resolves.toBeDefined();
    await expect(resolveRun({ ...defaultConfig('fasterrcnn-mobilenet-v3-large-fpn'), trainableBackboneLayers: 6 }, source(256, [12, 120]), false)).resolves.toBeDefined();
    const frcnn = await resolveRun({ ...defaultConfig('faster-rcnn'), epochs: 3 }, source(256, [12, 120]), false);
    expect(frcnn).toMatchObject({ epochs: 3, time: 0, augment: 'flip' });
    expect((frcnn.modelOptions.anchors as { sizes: number[] }).sizes).toHaveLength(4);
    const user = await resolveRun({ ...defaultConfig('ssd'), imageSize: 96, modelOptions: { defaultBoxes: { scales: [0.1, 0.2, 0.4, 0.8] } } }, source(256, [12, 120]), false);
    expect(user.imageSize).toBe(96);
    expect(user.modelOptions.defaultBoxes).toEqual({ steps: [4, 8, 16], scales: [0.1, 0.2, 0.4, 0.8], aspectRatios: [[2], [2], [2]] });
    // A backbone with four outputs (a stride-4 level for small objects) gets four levels of default boxes.
    const four = await resolveRun({ ...defaultConfig('ssd'), modelOptions: { backbone: { outputStrides: [4, 8, 16, 32] }, defaultBoxes: { steps: [4, 8, 16, 32] } } }, source(256, [12, 120]), false);
    expect((four.modelOptions.defaultBoxes as { scales: number[] }).scales).toHaveLength(5);
    expect((four.modelOptions.defaultBoxes as { aspectRatios: number[][] }).aspectRatios).toEqual([[2], [2], [2], [2]]);
  });
});
