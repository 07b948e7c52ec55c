import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '@detkit/core';
import { encodePng, syntheticSample, toCoco, type RgbImage } from '@detkit/data';
import { describe, expect, it } from 'vitest';
import { openData } from './dataset';

describe('training data', () => {
  it("'synthetic' is the built-in quick set, limits cut it", async () => {
    const d = await openData({ data: 'synthetic', trainLimit: 10 });
    expect(d.classes).toEqual(['rectangle', 'ellipse', 'triangle', 'cross']);
    expect([d.train.length, d.val.length]).toEqual([10, 500]);
    expect((await openData({ data: 'synthetic:hard' })).classes).toHaveLength(6);
  });

  it('reads a COCO-layout folder (annotations/instances_{train,val}.json, images in train/ and val/)', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'detkit-coco-'));
    await mkdir(path.join(root, 'annotations'));
    for (const split of ['train', 'val'] as const) {
      await mkdir(path.join(root, split));
      const samples = [0, 1, 2].map((i) => syntheticSample(i, { split }));
      for (const s of samples) await writeFile(path.join(root, split, `${s.id}.png`), encodePng(s.image as RgbImage));
      const json = toCoco({ classes: ['rectangle', 'ellipse', 'triangle', 'cross'], samples });
      await writeFile(path.join(root, 'annotations', `instances_${split}.json`), JSON.stringify(json));
    }
    const d = await openData({ data: root });
    expect([d.train.length, d.val.length]).toEqual([3, 3]);
    expect(d.categoryIds).toEqual([1, 2, 3, 4]);
    expect(d.classes).toEqual(['rectangle', 'ellipse', 'triangle', 'cross']);
    const first = await d.train.get(0);
    expect(Array.from(first.labels)).toEqual(Array.from(syntheticSample(0).labels));
  });

  it('gives the validation file the training labels by category id, and rejects a class only validation has', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'detkit-coco-'));
    await mkdir(path.join(root, 'train', 'x'), { recursive: true });
    await mkdir(path.join(root, 'valid'));
    const samples = [0, 1].map((i) => syntheticSample(i));
    // The labelling tools' export layout: {train,valid}/_annotations.coco.json with the images beside it.
    await writeFile(path.join(root, 'train', '_annotations.coco.json'), JSON.stringify(toCoco({ classes: ['a', 'b', 'c', 'd'], samples }, { categoryIds: [5, 6, 7, 8], fileName: (s) => `${s.id}.png` })));
    for (const s of samples) {
      await writeFile(path.join(root, 'train', `${s.id}.png`), encodePng(s.image as RgbImage));
      await writeFile(path.join(root, 'valid', `${s.id}.png`), encodePng(s.image as RgbImage));
    }
    // Validation lists only two of the categories: its own labels would be 0 and 1.
    const valSamples = samples.map((s) => ({ ...s, labels: Int32Array.from(s.labels, () => 1), boxes: s.boxes }));
    await writeFile(path.join(root, 'valid', '_annotations.coco.json'), JSON.stringify(toCoco({ classes: ['b', 'd'], samples: valSamples }, { categoryIds: [6, 8], fileName: (s) => `${s.id}.png` })));
    const d = await openData({ data: root });
    expect(d.classes).toEqual(['a', 'b', 'c', 'd']);
    const v = await d.val.get(0);
    expect(Array.from(v.labels).every((l) => l === 3)).toBe(true); // category 8 = 'd' = training label 3
    await writeFile(path.join(root, 'valid', '_annotations.coco.json'), JSON.stringify(toCoco({ classes: ['b', 'zebra'], samples: valSamples }, { categoryIds: [6, 9], fileName: (s) => `${s.id}.png` })));
    await expect(openData({ data: root })).rejects.toThrow(/'zebra', which the training split does not have/);
  });

  it('finds the VOC folder below the one given (VOCdevkit/VOC2012, as unpacked), and refuses to pick between two', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'detkit-voc-'));
    const writeYear = async (year: string) => {
      const dir = path.join(root, 'VOCdevkit', year);
      await mkdir(path.join(dir, 'ImageSets', 'Main'), { recursive: true });
      await mkdir(path.join(dir, 'Annotations'));
      await mkdir(path.join(dir, 'JPEGImages'));
      const sample = syntheticSample(0);
      await writeFile(path.join(dir, 'JPEGImages', 'a.png'), encodePng(sample.image as RgbImage));
      const xml = `<annotation><filename>a.png</filename><size><width>${sample.width}</width><height>${sample.height}</height><depth>3</depth></size><object><name>kite</name><difficult>0</difficult><bndbox><xmin>2</xmin><ymin>3</ymin><xmax>20</xmax><ymax>30</ymax></bndbox></object></annotation>`;
      await writeFile(path.join(dir, 'Annotations', 'a.xml'), xml);
      for (const split of ['train', 'val']) await writeFile(path.join(dir, 'ImageSets', 'Main', `${split}.txt`), 'a\n');
    };
    await writeYear('VOC2012');
    for (const given of [root, path.join(root, 'VOCdevkit'), path.join(root, 'VOCdevkit', 'VOC2012')]) {
      const d = await openData({ data: given });
      expect(d.description, given).toContain(`VOC devkit ${path.join(root, 'VOCdevkit', 'VOC2012')}`);
      expect(d.classes).toEqual(['kite']);
    }
    await writeYear('VOC2007');
    await expect(openData({ data: root })).rejects.toThrow(/holds several VOC folders .*VOC2007.*VOC2012|holds several VOC folders .*VOC2012.*VOC2007/);
  });

  it('anything else is an InvalidArgumentError naming the data', async () => {
    await expect(openData({ data: '/nonexistent/folder' })).rejects.toThrow(InvalidArgumentError);
    await expect(openData({ data: await mkdtemp(path.join(tmpdir(), 'detkit-empty-')) })).rejects.toThrow(/not a data folder detkit knows/);
    await expect(openData({ data: 'synthetic:medium' })).rejects.toThrow(/'quick' or 'hard'/);
    await expect(openData({ data: '', trainAnnotations: '/nonexistent.json' })).rejects.toThrow(/'trainAnnotations'/);
  });
});
