// readVoc on a devkit folder written to disk whose classes are not Pascal's: classes read from the
// data (sorted union), or given; difficult objects kept and flagged; PNG, JPEG and grey images decode.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encode as encodePngRaw } from 'fast-png';
import jpeg from 'jpeg-js';
import { setupBackend } from '@detkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, createLoader, vocClassNames } from '../index';
import { loadImageFile, readVoc } from './index';

let root = '';
const obj = (name: string, box: number[], difficult = 0) =>
  `<object><name>${name}</name><difficult>${difficult}</difficult><bndbox><xmin>${box[0]}</xmin><ymin>${box[1]}</ymin><xmax>${box[2]}</xmax><ymax>${box[3]}</ymax></bndbox></object>`;
const ann = (file: string, w: number, h: number, ...objects: string[]) =>
  `<annotation><filename>${file}</filename><size><width>${w}</width><height>${h}</height><depth>3</depth></size>${objects.join('')}</annotation>`;

beforeAll(async () => {
  await setupBackend('cpu');
  root = path.join(await mkdtemp(path.join(tmpdir(), 'detkit-voc-')), 'shapes');
  for (const d of ['ImageSets/Main', 'Annotations', 'JPEGImages']) await mkdir(path.join(root, d), { recursive: true });
  await writeFile(path.join(root, 'ImageSets/Main/train.txt'), 'a\nb\nc\n');
  await writeFile(path.join(root, 'ImageSets/Main/val.txt'), 'd\n');
  await writeFile(path.join(root, 'Annotations/a.xml'), ann('a.png', 32, 24, obj('triangle', [2, 2, 10, 10]), obj('circle', [12, 4, 30, 20], 1)));
  await writeFile(path.join(root, 'Annotations/b.xml'), ann('b.jpg', 20, 20, obj('square', [1, 1, 20, 20])));
  await writeFile(path.join(root, 'Annotations/c.xml'), ann('c.png', 16, 16));
  await writeFile(path.join(root, 'Annotations/d.xml'), ann('d.png', 16, 16, obj('hexagon', [1, 1, 8, 8])));
  const rgb = (w: number, h: number) => Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 7) % 256);
  await writeFile(path.join(root, 'JPEGImages/a.png'), encodePngRaw({ width: 32, height: 24, data: rgb(32, 24), channels: 3, depth: 8 }));
  await writeFile(path.join(root, 'JPEGImages/b.jpg'), jpeg.encode({ width: 20, height: 20, data: new Uint8Array(20 * 20 * 4).fill(128) }, 90).data);
  await writeFile(path.join(root, 'JPEGImages/c.png'), encodePngRaw({ width: 16, height: 16, data: new Uint8Array(256).fill(90), channels: 1, depth: 8 })); // grey
  await writeFile(path.join(root, 'JPEGImages/d.png'), encodePngRaw({ width: 16, height: 16, data: new Uint8Array(256), channels: 1, depth: 8 }));
});
afterAll(async () => {
  await rm(path.dirname(root), { recursive: true, force: true });
});

describe('readVoc with its own classes', () => {
  it('reads the classes from the data: the sorted union of the names in the split', async () => {
    const train = await readVoc(root, { split: 'train' });
    expect(train.classes).toEqual(['circle', 'square', 'triangle']);
    const [a, b, c] = train.samples;
    expect(Array.from(a!.labels)).toEqual([2, 0]); // triangle, circle
    expect(Array.from(a!.difficult)).toEqual([0, 1]); // kept, flagged (VOC evaluation ignores it)
    expect(Array.from(a!.boxes)).toEqual([1, 1, 10, 10, 11, 3, 30, 20]);
    expect(Array.from(b!.labels)).toEqual([1]);
    expect(c!.labels).toHaveLength(0);
    expect(vocClassNames(ann('x.png', 4, 4, obj('b', [1, 1, 2, 2]), obj('a', [1, 1, 2, 2]), obj('b', [1, 1, 2, 2])))).toEqual(['b', 'a', 'b']);
  });

  it('explicit classes: their order gives the labels; an unknown name is a DataError naming the file', async () => {
    const train = await readVoc(root, { split: 'train', classes: ['triangle', 'circle', 'square', 'star'] });
    expect(Array.from(train.samples[0]!.labels)).toEqual([0, 1]);
    // The val split read with train's classes: its 'hexagon' is not one of them.
    const e = await readVoc(root, { split: 'val', classes: train.classes }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(DataError);
    expect((e as DataError).kind).toBe('unknown-category');
    expect((e as DataError).file).toBe(path.join(root, 'Annotations', 'd.xml'));
    expect((e as DataError).message).toContain('has class "hexagon", which is not one of the 4 classes ("triangle", "circle", "square", "star")');
    const skipped = await readVoc(root, { split: 'val', classes: train.classes, onInvalid: 'skip' });
    expect(skipped.samples[0]!.labels).toHaveLength(0);
    expect(skipped.skipped.byKind).toEqual({ 'unknown-category': 1 });
  });

  it('the loader reads its PNG, JPEG and grey images; dropDifficult leaves difficult objects out', async () => {
    const train = await readVoc(root, { split: 'train' });
    const loader = createLoader({ source: train.samples, imageSize: 32, batchSize: 3, shuffle: false, loadImage: loadImageFile, normalize: false });
    for await (const batch of loader.epoch(0)) {
      expect(batch.images.shape).toEqual([3, 32, 32, 3]);
      expect(Array.from(batch.targets[0]!.difficult)).toEqual([0, 1]);
      batch.dispose();
    }
    const strict = createLoader({ source: train.samples, imageSize: 32, batchSize: 3, shuffle: false, loadImage: loadImageFile, dropDifficult: true });
    for await (const batch of strict.epoch(0)) {
      expect(Array.from(batch.targets[0]!.labels)).toEqual([2]);
      batch.dispose();
    }
  });
});
