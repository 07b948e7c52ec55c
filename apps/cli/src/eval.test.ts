/**
 * `detkit eval` on files written here, with values derived by hand (comments), and its input checks.
 *
 * The ground truth: one 200 x 200 image with one 'cat' box [10, 10, 110, 110] (COCO bbox [10, 10, 100, 100],
 * area 10000 > 96^2: a large object; no small or medium ones, so APs and APm are -1, printed '-').
 */
import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '@detkit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { runEval, type EvalConfig } from './eval';
import { readGroundTruth } from './ground-truth';

let dir: string;
let gt: string;
const base = (input: string): EvalConfig => ({ input, data: gt, split: 'val', images: null, limit: 0, backend: 'cpu', json: false });

async function json(name: string, value: unknown): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, JSON.stringify(value));
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'detkit-eval-'));
  gt = await json('instances_val.json', {
    images: [{ id: 7, file_name: 'a.png', width: 200, height: 200 }],
    annotations: [{ id: 1, image_id: 7, category_id: 3, bbox: [10, 10, 100, 100], area: 10000, iscrowd: 0 }],
    categories: [{ id: 3, name: 'cat' }],
  });
});

describe('detkit eval: COCO results files', () => {
  it('one exact detection: every AP and AR100 is 1, APs and APm undefined (-1), VOC mAP 1', async () => {
    const file = await json('exact.json', [{ image_id: 7, category_id: 3, bbox: [10, 10, 100, 100], score: 0.9 }]);
    const { report, text } = await runEval(base(file));
    expect(report).toMatchObject({ input: 'coco-results', images: 1, detections: 1, unknownClass: 0, map: 1 });
    // (Means over the 10 IoU thresholds and 101 recall points: 1 within float rounding.)
    const expected = { ap: 1, ap50: 1, ap75: 1, apSmall: -1, apMedium: -1, apLarge: 1, ar100: 1 };
    for (const [k, v] of Object.entries(expected)) expect(report.coco[k as keyof typeof expected], k).toBeCloseTo(v, 12);
    expect(text).toContain('| 1.000 | 1.000 | 1.000 | - | - | 1.000 | 1.000 |');
    expect(text).toContain('VOC mAP@0.5 (all-point): 1.0000');
    expect(text).toMatch(/\| cat\s+\|\s+1\.000 \|/);
  });

  it('a false positive scored above the hit: precision 1/2 at recall 1, so AP 0.5 (VOC all-point and COCO), AR100 still 1', async () => {
    // Ranked: the false positive (precision 0 at recall 0), then the hit (precision 1/2 at recall 1). The
    // interpolated precision at every recall in [0, 1] is 1/2: VOC's area under it and COCO's mean over
    // 101 recall points are both 0.5, at every IoU threshold.
    const file = await json('fp.json', [
      { image_id: 7, category_id: 3, bbox: [150, 150, 40, 40], score: 0.95 },
      { image_id: 7, category_id: 3, bbox: [10, 10, 100, 100], score: 0.9 },
    ]);
    const { report } = await runEval(base(file));
    expect(report.map).toBeCloseTo(0.5, 12);
    expect(report.coco.ap).toBeCloseTo(0.5, 12);
    expect(report.coco.ap50).toBeCloseTo(0.5, 12);
    expect(report.coco.ar100).toBe(1);
  });

  it('no detections at all: AP 0, and a category the ground truth lacks is left out and counted', async () => {
    const file = await json('other.json', [{ image_id: 7, category_id: 99, bbox: [10, 10, 100, 100], score: 0.9 }]);
    const { report, text } = await runEval(base(file));
    expect(report).toMatchObject({ detections: 0, unknownClass: 1, map: 0 });
    expect(report.coco.ap).toBe(0);
    expect(text).toContain('1 detection(s) of classes the ground truth does not have left out');
  });

  it('an image id the ground truth does not have is an InvalidArgumentError naming it', async () => {
    const file = await json('bad-id.json', [{ image_id: 8, category_id: 3, bbox: [10, 10, 100, 100], score: 0.9 }]);
    await expect(runEval(base(file))).rejects.toThrow(/image_id 8 is not an image of the ground truth \(ids such as 7\)/);
  });
});

describe("detkit eval: detkit detect's detections.json", () => {
  it('images matched by file name, classes by name: the exact box scores 1; an unknown class is counted', async () => {
    const file = await json('detections.json', [
      {
        file: '/elsewhere/a.png',
        drawing: 'a.png',
        width: 200,
        height: 200,
        detections: [
          { box: [10, 10, 110, 110], score: 0.8, label: 0, class: 'cat', categoryId: 1 },
          { box: [0, 0, 5, 5], score: 0.9, label: 1, class: 'dog', categoryId: 2 },
        ],
      },
    ]);
    const { report } = await runEval(base(file));
    expect(report).toMatchObject({ input: 'detections', images: 1, detections: 1, unknownClass: 1, map: 1 });
    expect(report.coco.ap).toBeCloseTo(1, 12);
  });

  it('an image that is not in the ground truth is an InvalidArgumentError', async () => {
    const file = await json('unknown-image.json', [{ file: 'b.png', drawing: 'b.png', width: 1, height: 1, detections: [] }]);
    await expect(runEval(base(file))).rejects.toThrow(/image b\.png is not in the ground truth/);
  });
});

describe("detkit eval: where a COCO file's images are", () => {
  it("a folder of annotations.json and images/ (as train takes it): the model's images are found in images/", async () => {
    const root = path.join(dir, 'coco-folder');
    await mkdir(path.join(root, 'images'), { recursive: true });
    await writeFile(path.join(root, 'images', 'a.png'), 'not read: only its existence is checked');
    await writeFile(path.join(root, 'annotations.json'), JSON.stringify({
      images: [{ id: 7, file_name: 'a.png', width: 200, height: 200 }],
      annotations: [{ id: 1, image_id: 7, category_id: 3, bbox: [10, 10, 100, 100], area: 10000, iscrowd: 0 }],
      categories: [{ id: 3, name: 'cat' }],
    }));
    for (const data of [root, path.join(root, 'annotations.json')]) {
      const gtSplit = await readGroundTruth({ data, split: 'train', needImages: true });
      expect(gtSplit.samples.map((s) => s.image)).toEqual([path.join(root, 'images', 'a.png')]);
    }
  });
});

describe('detkit eval: a Pascal VOC devkit split', () => {
  it("detect's detections.json against ImageSets/Main/val.txt: a difficult object missed costs nothing (AP 1, not 0.5)", async () => {
    // One image, a 'dog' at VOC pixels 11..110 (box [10, 10, 110, 110] in detkit's continuous coordinates)
    // and a difficult 'dog' nobody finds: VOC ignores difficult objects, so the one exact detection gives
    // recall 1 at precision 1, AP 1.
    const voc = path.join(dir, 'VOC2007');
    for (const d of ['ImageSets/Main', 'Annotations', 'JPEGImages']) await mkdir(path.join(voc, d), { recursive: true });
    await writeFile(path.join(voc, 'ImageSets', 'Main', 'val.txt'), '000001\n');
    const object = (xmin: number, difficult: number) =>
      `<object><name>dog</name><difficult>${difficult}</difficult><bndbox><xmin>${xmin}</xmin><ymin>11</ymin><xmax>${xmin + 99}</xmax><ymax>110</ymax></bndbox></object>`;
    await writeFile(
      path.join(voc, 'Annotations', '000001.xml'),
      `<annotation><filename>000001.jpg</filename><size><width>300</width><height>200</height><depth>3</depth></size>${object(11, 0)}${object(151, 1)}</annotation>`,
    );
    const file = await json('voc-detections.json', [
      { file: path.join(voc, 'JPEGImages', '000001.jpg'), drawing: '000001.png', width: 300, height: 200, detections: [{ box: [10, 10, 110, 110], score: 0.7, label: 0, class: 'dog', categoryId: 1 }] },
    ]);
    const { report, text } = await runEval({ ...base(file), data: voc });
    expect(report).toMatchObject({ input: 'detections', images: 1, detections: 1, map: 1 });
    expect(text).toContain(`VOC devkit ${voc}, val split: 1 images, 1 classes`);
    await expect(runEval({ ...base(file), data: voc, split: 'test' })).rejects.toThrow(/test\.txt/);
    // The folder above the year folder, as unpacked (VOCdevkit/VOC2007) and as the trainer's --data takes it.
    const devkit = path.join(dir, 'unpacked', 'VOCdevkit');
    await cp(voc, path.join(devkit, 'VOC2007'), { recursive: true });
    const above = await runEval({ ...base(file), data: path.dirname(devkit) });
    expect(above.report).toMatchObject({ input: 'detections', images: 1, detections: 1, map: 1 });
    expect(above.text).toContain(`VOC devkit ${path.join(devkit, 'VOC2007')}, val split`);
    // Two year folders there: which one is the user's choice.
    await mkdir(path.join(devkit, 'VOC2012', 'ImageSets', 'Main'), { recursive: true });
    await expect(runEval({ ...base(file), data: devkit })).rejects.toThrow(/^detkit eval: 'data' .* holds several VOC folders/);
  });
});

describe('detkit eval: input checks', () => {
  it('a missing input, a non-JSON file, an object that is neither format, a bad record: InvalidArgumentError naming detections', async () => {
    const cases = [
      path.join(dir, 'missing.json'),
      await json('text.json', 'not json').then(async (f) => (await writeFile(f, 'not json'), f)),
      await json('object.json', { hello: 1 }),
      await json('bad-record.json', [{ image_id: 7, category_id: 3, bbox: [1, 2, 3], score: 1 }]),
    ];
    for (const input of cases) {
      const e = await runEval(base(input)).catch((x: unknown) => x);
      expect(e, input).toBeInstanceOf(InvalidArgumentError);
      expect((e as InvalidArgumentError).message, input).toMatch(/^detkit eval: 'detections' /);
    }
  });

  it('ground truth that is neither synthetic nor a file or data folder is an InvalidArgumentError naming data', async () => {
    const file = await json('ok.json', []);
    await expect(runEval({ ...base(file), data: path.join(dir, 'nowhere') })).rejects.toThrow(/'data' '.*nowhere' is neither 'synthetic' nor a file or folder/);
    const empty = path.join(dir, 'no-data');
    await mkdir(empty);
    await expect(runEval({ ...base(file), data: empty })).rejects.toThrow(/'data' '.*' is not a data folder detkit knows/);
    await expect(runEval({ ...base(file), data: 'synthetic:easy' })).rejects.toThrow(/synthetic preset must be 'quick' or 'hard'/);
  });
});
