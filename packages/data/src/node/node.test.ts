// The Node entry: the synthetic set written as COCO + PNG and read back; VOC's folder layout; missing files.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, unlink, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, syntheticSource, VOC_CLASSES, type DetectionSample, type RgbImage } from '../index';
import { loadImageFile, readCoco, readVoc, writeSynthetic } from './index';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'detkit-data-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function digest(root: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (d: string): Promise<void> => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else h.update(path.relative(root, p)).update(await readFile(p));
    }
  };
  await walk(root);
  return h.digest('hex');
}

async function rejection(p: Promise<unknown>): Promise<DataError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error('expected a DataError');
}

describe('writeSynthetic + readCoco', () => {
  const opts = { seed: 5, counts: { train: 6, val: 3 } };

  it('round-trips: the files read back to the same samples and pixels', async () => {
    const root = path.join(dir, 'synth');
    const files = await writeSynthetic(root, opts);
    expect(files.written).toBe(true);
    const train = files.splits.train!;
    expect(train.count).toBe(6);
    const ds = await readCoco(train.annotationFile, { imageRoot: train.imageRoot });
    const src = syntheticSource({ seed: 5, count: 6 });
    expect(ds.classes).toEqual(['rectangle', 'ellipse', 'triangle', 'cross']);
    expect(ds.categoryIds).toEqual([1, 2, 3, 4]);
    expect(ds.samples).toHaveLength(6);
    for (let i = 0; i < 6; i++) {
      const want = src.get(i) as DetectionSample & { image: RgbImage };
      const got = ds.samples[i]!;
      expect(got.id).toBe(i);
      expect(got.image).toBe(path.join(train.imageRoot, `${String(i).padStart(6, '0')}.png`));
      expect(got.boxes).toEqual(want.boxes);
      expect(got.labels).toEqual(want.labels);
      expect(got.area).toEqual(want.area);
      expect((await loadImageFile(got.image as string)).data).toEqual(want.image.data);
    }
    const val = await readCoco(files.splits.val!.annotationFile, { imageRoot: files.splits.val!.imageRoot });
    expect(val.samples).toHaveLength(3);
  });

  it('is cached, and regenerating with the same seed writes identical bytes', async () => {
    const root = path.join(dir, 'synth2');
    await writeSynthetic(root, opts);
    const first = await digest(root);
    expect((await writeSynthetic(root, opts)).written).toBe(false);
    expect((await writeSynthetic(root, { ...opts, force: true })).written).toBe(true);
    expect(await digest(root)).toBe(first);
    expect((await writeSynthetic(root, { ...opts, seed: 6 })).written).toBe(true);
    expect(await digest(root)).not.toBe(first);
  });

  it('a missing image: an error naming the file and record, or a skip with a count', async () => {
    const root = path.join(dir, 'synth3');
    const files = await writeSynthetic(root, { ...opts, splits: ['val'] });
    const val = files.splits.val!;
    await unlink(path.join(val.imageRoot, '000001.png'));
    const e = await rejection(readCoco(val.annotationFile, { imageRoot: val.imageRoot }));
    expect([e.kind, e.file]).toEqual(['missing-image', val.annotationFile]);
    expect(e.record).toBe(`image id 1 (${path.join(val.imageRoot, '000001.png')})`);
    const skipped = await readCoco(val.annotationFile, { imageRoot: val.imageRoot, onInvalid: 'skip' });
    expect(skipped.samples.map((s) => s.id)).toEqual([0, 2]);
    expect(skipped.skipped).toMatchObject({ count: 1, byKind: { 'missing-image': 1 } });
    expect((await rejection(loadImageFile(path.join(val.imageRoot, '000001.png')))).kind).toBe('missing-image');
    expect((await rejection(readCoco(path.join(root, 'nope.json')))).kind).toBe('malformed-file');
  });
});

describe('readVoc', () => {
  it("reads the devkit's layout: ImageSets/Main, Annotations, JPEGImages", async () => {
    const root = path.join(dir, 'VOC2007');
    for (const d of ['ImageSets/Main', 'Annotations', 'JPEGImages']) await mkdir(path.join(root, d), { recursive: true });
    await writeFile(path.join(root, 'ImageSets/Main/trainval.txt'), '000001\n000002\n\n');
    const ann = (id: string, objects: string) =>
      `<annotation><filename>${id}.jpg</filename><size><width>16</width><height>8</height><depth>3</depth></size>${objects}</annotation>`;
    await writeFile(path.join(root, 'Annotations/000001.xml'), ann('000001', '<object><name>dog</name><difficult>1</difficult><bndbox><xmin>2</xmin><ymin>1</ymin><xmax>9</xmax><ymax>8</ymax></bndbox></object>'));
    await writeFile(path.join(root, 'Annotations/000002.xml'), ann('000002', '<object><name>cat</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>16</xmax><ymax>8</ymax></bndbox></object><object><name>zebra</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object>'));
    const rgba = new Uint8Array(16 * 8 * 4).fill(200);
    await writeFile(path.join(root, 'JPEGImages/000001.jpg'), jpeg.encode({ width: 16, height: 8, data: rgba }, 90).data);
    // 000002.jpg is missing.
    const e = await rejection(readVoc(root, { classes: VOC_CLASSES }));
    expect(e.kind).toBe('unknown-category'); // zebra, found before the missing image
    expect(e.file).toBe(path.join(root, 'Annotations', '000002.xml'));
    expect((await readVoc(root, { onInvalid: 'skip' })).classes).toEqual(['cat', 'dog', 'zebra']); // read from the data
    const ds = await readVoc(root, { onInvalid: 'skip', classes: VOC_CLASSES });
    expect(ds.classes).toBe(VOC_CLASSES);
    expect(ds.samples.map((s) => s.id)).toEqual(['000001']);
    expect(ds.skipped.byKind).toEqual({ 'unknown-category': 1, 'missing-image': 1 });
    const s = ds.samples[0]!;
    expect(Array.from(s.boxes)).toEqual([1, 0, 9, 8]);
    expect(Array.from(s.difficult)).toEqual([1]);
    expect(s.image).toBe(path.join(root, 'JPEGImages', '000001.jpg'));
    const img = await loadImageFile(s.image as string);
    expect([img.width, img.height]).toEqual([16, 8]);
    expect((await rejection(readVoc(root, { split: 'test' }))).file).toBe(path.join(root, 'ImageSets', 'Main', 'test.txt'));
  });
});
