import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '@detkit/core';
import { encodePng, syntheticSample, toCoco, type RgbImage } from '@detkit/data';
import { describe, expect, it } from 'vitest';
import { openData } from './dataset';

describe('training data', () => {
  it("'synthetic' is the built-in quick set, limits cut it", async () => {
    const d = await openData('synthetic', { train: 10, val: 0 });
    expect(d.classes).toEqual(['rectangle', 'ellipse', 'triangle', 'cross']);
    expect([d.train.length, d.val.length]).toEqual([10, 500]);
    expect((await openData('synthetic:hard')).classes).toHaveLength(6);
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
    const d = await openData(root);
    expect([d.train.length, d.val.length]).toEqual([3, 3]);
    expect(d.classes).toEqual(['rectangle', 'ellipse', 'triangle', 'cross']);
    const first = await d.train.get(0);
    expect(Array.from(first.labels)).toEqual(Array.from(syntheticSample(0).labels));
  });

  it('anything else is an InvalidArgumentError naming the data', async () => {
    await expect(openData('/nonexistent/folder')).rejects.toThrow(InvalidArgumentError);
    await expect(openData('synthetic:medium')).rejects.toThrow(/'quick' or 'hard'/);
  });
});
