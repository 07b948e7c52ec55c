/**
 * The trainer on a user's data as a user runs it: folders written to disk in each layout the README promises
 * (COCO as distributed, COCO with `instances_{train,val}.json`, explicit annotation / image paths with a
 * held-out split, a VOC devkit folder with its own classes), with PNG and JPEG images, one grayscale image and
 * one bad record, then `detkit-train` (the built bin, as a child process) for two steps on each.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { encode as encodePngBytes } from 'fast-png';
import jpeg from 'jpeg-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { findCocoLayout, holdOut } from './dataset';

const run = promisify(execFile);
const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'train.js');

/** A small image with a few filled rectangles, circles and triangles; returns its objects (xyxy). */
function drawImage(seed: number, width: number, height: number): { rgb: Uint8Array; objects: { cls: number; box: [number, number, number, number] }[] } {
  let s = seed * 7919 + 13;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = 40 + Math.floor(rand() * 30);
  const objects: { cls: number; box: [number, number, number, number] }[] = [];
  for (let k = 0; k < 2; k++) {
    const side = 10 + Math.floor(rand() * 14);
    const x1 = Math.floor(rand() * (width - side)), y1 = Math.floor(rand() * (height - side));
    const cls = Math.floor(rand() * 3);
    const colour = [200 + cls * 20, 80 * cls, 255 - 60 * cls];
    for (let y = y1; y < y1 + side; y++) {
      for (let x = x1; x < x1 + side; x++) {
        const u = (x - x1 + 0.5) / side, v = (y - y1 + 0.5) / side;
        const inside = cls === 0 ? true : cls === 1 ? (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25 : Math.abs(u - 0.5) <= v / 2;
        if (inside) for (let c = 0; c < 3; c++) rgb[3 * (y * width + x) + c] = colour[c] as number;
      }
    }
    objects.push({ cls, box: [x1, y1, x1 + side, y1 + side] });
  }
  return { rgb, objects };
}

/** Writes image `i` as PNG or JPEG (every third a JPEG; image 1 a grayscale PNG); returns its file name and objects. */
async function writeImage(dir: string, i: number, width = 72, height = 56): Promise<{ file: string; width: number; height: number; objects: ReturnType<typeof drawImage>['objects'] }> {
  const { rgb, objects } = drawImage(i + 1, width, height);
  let file: string;
  if (i % 3 === 2) {
    const rgba = new Uint8Array(width * height * 4);
    for (let p = 0; p < width * height; p++) {
      rgba.set(rgb.subarray(3 * p, 3 * p + 3), 4 * p);
      rgba[4 * p + 3] = 255;
    }
    file = `img${i}.jpg`;
    await writeFile(path.join(dir, file), jpeg.encode({ data: rgba, width, height }, 90).data);
  } else if (i === 1) {
    const gray = new Uint8Array(width * height);
    for (let p = 0; p < width * height; p++) gray[p] = Math.round(((rgb[3 * p] as number) + (rgb[3 * p + 1] as number) + (rgb[3 * p + 2] as number)) / 3);
    file = `img${i}.png`;
    await writeFile(path.join(dir, file), encodePngBytes({ width, height, data: gray, channels: 1, depth: 8 }));
  } else {
    file = `img${i}.png`;
    await writeFile(path.join(dir, file), encodePngBytes({ width, height, data: rgb, channels: 3, depth: 8 }));
  }
  return { file, width, height, objects };
}

const NAMES = ['square', 'circle', 'triangle'];

/** Writes a COCO instances file for `count` images into `imageDir`; category ids 1, 3, 90 (not contiguous); `bad` adds one annotation with a negative width. */
async function writeCocoSplit(annotationFile: string, imageDir: string, first: number, count: number, bad: boolean): Promise<void> {
  await mkdir(imageDir, { recursive: true });
  await mkdir(path.dirname(annotationFile), { recursive: true });
  const ids = [1, 3, 90];
  const images = [];
  const annotations = [];
  let annId = first * 10 + 1;
  for (let i = first; i < first + count; i++) {
    const img = await writeImage(imageDir, i);
    images.push({ id: 100 + i, file_name: img.file, width: img.width, height: img.height });
    for (const o of img.objects) {
      const [x1, y1, x2, y2] = o.box;
      annotations.push({ id: annId++, image_id: 100 + i, category_id: ids[o.cls], bbox: [x1, y1, x2 - x1, y2 - y1], area: (x2 - x1) * (y2 - y1), iscrowd: 0 });
    }
  }
  if (bad) annotations.push({ id: annId++, image_id: 100 + first, category_id: 3, bbox: [5, 5, -4, 6], area: 24, iscrowd: 0 });
  const categories = ids.map((id, k) => ({ id, name: NAMES[k] }));
  await writeFile(annotationFile, JSON.stringify({ images, annotations, categories }));
}

async function writeVoc(root: string, count: number): Promise<void> {
  for (const d of ['Annotations', 'JPEGImages', path.join('ImageSets', 'Main')]) await mkdir(path.join(root, d), { recursive: true });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const img = await writeImage(path.join(root, 'JPEGImages'), i);
    const id = path.parse(img.file).name;
    ids.push(id);
    const objects = img.objects
      .map((o, k) => {
        const [x1, y1, x2, y2] = o.box;
        // VOC boxes are 1-based inclusive pixel indices.
        return `<object><name>${NAMES[o.cls]}</name><difficult>${k === 1 && i === 0 ? 1 : 0}</difficult><bndbox><xmin>${x1 + 1}</xmin><ymin>${y1 + 1}</ymin><xmax>${x2}</xmax><ymax>${y2}</ymax></bndbox></object>`;
      })
      .join('');
    await writeFile(
      path.join(root, 'Annotations', `${id}.xml`),
      `<annotation><filename>${img.file}</filename><size><width>${img.width}</width><height>${img.height}</height><depth>3</depth></size>${objects}</annotation>`,
    );
  }
  await writeFile(path.join(root, 'ImageSets', 'Main', 'train.txt'), ids.slice(0, count - 4).join('\n') + '\n');
  await writeFile(path.join(root, 'ImageSets', 'Main', 'val.txt'), ids.slice(count - 4).join('\n') + '\n');
}

/** Runs detkit-train for two steps of 4 images at 64 px; returns stdout. */
async function train(args: string[], out: string): Promise<string> {
  const { stdout } = await run(process.execPath, [bin, ...args, '--max-steps', '2', '--image-size', '64', '--batch-size', '4', '--draw', '1', '--no-progress', '-o', out, '--config', smallModel], {
    timeout: 120_000,
  });
  return stdout;
}

let root: string;
let smallModel: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'detkit-layouts-'));
  smallModel = path.join(root, 'small.json');
  await writeFile(smallModel, JSON.stringify({ modelOptions: { backbone: { channels: [8, 16, 16, 24, 32] } }, warmupSteps: 1 }));
});

interface Epoch {
  type: 'epoch';
  map: number;
  coco: Record<string, number>;
  perClass: Record<string, number>;
}

async function epochs(out: string): Promise<Epoch[]> {
  const text = await readFile(path.join(out, 'metrics.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { type: string })
    .filter((r): r is Epoch => r.type === 'epoch');
}

describe('detkit-train on data folders written to disk', () => {
  it('COCO as distributed (annotations/instances_{train,val}2017.json, {train,val}2017/): trains, reports COCO metrics, maps category ids back', async () => {
    const data = path.join(root, 'coco2017');
    await writeCocoSplit(path.join(data, 'annotations', 'instances_train2017.json'), path.join(data, 'train2017'), 0, 8, false);
    await writeCocoSplit(path.join(data, 'annotations', 'instances_val2017.json'), path.join(data, 'val2017'), 8, 4, false);
    expect(findCocoLayout(data)?.layout).toBe('annotations/instances_train2017.json + instances_val2017.json');
    const out = path.join(root, 'out-coco2017');
    const stdout = await train(['--data', data], out);
    expect(stdout).toMatch(/8 train \/ 4 val images, 3 classes \(square, circle, triangle\)/);
    expect(stdout).toMatch(/\| AP \| AP50 \| AP75 \| APs \| APm \| APl \| AR100 \|/);
    const [epoch] = await epochs(out);
    expect(Object.keys(epoch!.coco).sort()).toEqual(['ap', 'ap50', 'ap75', 'apLarge', 'apMedium', 'apSmall', 'ar100']);
    const results = JSON.parse(await readFile(path.join(out, 'val-results.json'), 'utf8')) as { image_id: number; category_id: number; bbox: number[]; score: number }[];
    expect(results.length).toBeGreaterThan(0);
    // The data set's own ids come back: images 108-111, categories 1, 3, 90.
    for (const r of results) {
      expect([108, 109, 110, 111]).toContain(r.image_id);
      expect([1, 3, 90]).toContain(r.category_id);
      expect(r.bbox).toHaveLength(4);
    }
  }, 180_000);

  it('COCO with instances_{train,val}.json in {train,val}/, and a bad record: stops naming it, or skips it with --on-invalid skip', async () => {
    const data = path.join(root, 'coco-plain');
    await writeCocoSplit(path.join(data, 'annotations', 'instances_train.json'), path.join(data, 'train'), 0, 8, true);
    await writeCocoSplit(path.join(data, 'annotations', 'instances_val.json'), path.join(data, 'val'), 8, 4, false);
    const failed = await train(['--data', data], path.join(root, 'out-bad')).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/instances_train\.json.*annotations\[\d+\]/s);
    expect(failed?.stderr).toMatch(/\(--on-invalid skip leaves such records and images out and reports them\)/);
    const stdout = await train(['--data', data, '--on-invalid', 'skip'], path.join(root, 'out-skip'));
    expect(stdout).toMatch(/skipped 1 bad record/);
    expect(await epochs(path.join(root, 'out-skip'))).toHaveLength(1);
  }, 180_000);

  it('explicit annotation and image paths, one annotation file: holds out a seeded validation split', async () => {
    const data = path.join(root, 'explicit');
    await writeCocoSplit(path.join(data, 'labels.json'), path.join(data, 'pictures'), 0, 12, false);
    const stdout = await train(['--train-annotations', path.join(data, 'labels.json'), '--train-images', path.join(data, 'pictures'), '--val-split', '0.25'], path.join(root, 'out-explicit'));
    expect(stdout).toMatch(/9 train \/ 3 val images/);
    expect(stdout).toMatch(/3 of 12 images held out \(--val-split 0\.25, seed 0\)/);
  }, 180_000);

  it('a VOC devkit folder with its own classes (not the 20 of Pascal)', async () => {
    const data = path.join(root, 'voc');
    await writeVoc(data, 12);
    const out = path.join(root, 'out-voc');
    const stdout = await train(['--data', data, '--model', 'faster-rcnn', '--batch-size', '4'], out);
    expect(stdout).toMatch(/8 train \/ 4 val images, 3 classes \(circle, square, triangle\)/);
    const [epoch] = await epochs(out);
    expect(Object.keys(epoch!.perClass).sort()).toEqual(['circle', 'square', 'triangle']);
    // Not COCO data: the validation ground truth is written as a COCO file beside the results.
    const gt = JSON.parse(await readFile(path.join(out, 'val-annotations.json'), 'utf8')) as { images: { id: number }[] };
    const results = JSON.parse(await readFile(path.join(out, 'val-results.json'), 'utf8')) as { image_id: number }[];
    const ids = new Set(gt.images.map((i) => i.id));
    expect(results.every((r) => ids.has(r.image_id))).toBe(true);
  }, 180_000);
});

describe('holdOut', () => {
  it('is seeded, disjoint and covers every sample', () => {
    const samples = Array.from({ length: 20 }, (_, id) => ({ id }) as never);
    const a = holdOut(samples, 0.1, 3);
    const b = holdOut(samples, 0.1, 3);
    expect(a).toEqual(b);
    expect(a.val).toHaveLength(2);
    const ids = [...a.train, ...a.val].map((s) => (s as { id: number }).id).sort((x, y) => x - y);
    expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(holdOut(samples, 0.1, 4).val).not.toEqual(a.val);
  });
});
