// parseCoco / toCoco: the COCO instances format in, samples out, and every kind of bad record.
import { thrownDetkitError } from '@detkit/test-utils';
import { describe, expect, it } from 'vitest';
import { DataError, parseCoco, toCoco, type DataIssueKind } from './index';

const issue = (fn: () => unknown) => thrownDetkitError(fn, DataError);

const good = {
  images: [
    { id: 7, file_name: 'a.png', width: 100, height: 80 },
    { id: 3, file_name: 'b.png', width: 50, height: 50 },
  ],
  categories: [
    { id: 18, name: 'dog' },
    { id: 1, name: 'person' },
  ],
  annotations: [
    { id: 1, image_id: 7, category_id: 18, bbox: [10, 20, 30, 40], area: 900.5, iscrowd: 0 },
    { id: 2, image_id: 7, category_id: 1, bbox: [0, 0, 100, 80], area: 5000, iscrowd: 1 },
    { id: 3, image_id: 7, category_id: 1, bbox: [-0.5, 1, 20.5, 79.8] },
  ],
};

const withAnn = (ann: Record<string, unknown>) => ({ ...good, annotations: [ann] });

describe('parseCoco', () => {
  it('reads images in file order, xywh -> xyxy, categories sorted by id', () => {
    const ds = parseCoco(JSON.stringify(good), { file: 'instances.json', imageRoot: 'imgs' });
    expect(ds.classes).toEqual(['person', 'dog']); // ids 1, 18
    expect(ds.categoryIds).toEqual([1, 18]);
    expect(ds.samples.map((s) => [s.id, s.image, s.width, s.height])).toEqual([[7, 'imgs/a.png', 100, 80], [3, 'imgs/b.png', 50, 50]]);
    const a = ds.samples[0]!;
    // [10, 20, 30, 40] -> [10, 20, 40, 60]; the third box reaches to x = -0.5 (within the 1 px tolerance): clipped to 0.
    expect(Array.from(a.boxes)).toEqual([10, 20, 40, 60, 0, 0, 100, 80, 0, 1, 20, 80]); // y2 = 80.8 clipped to 80
    expect(Array.from(a.labels)).toEqual([1, 0, 0]);
    expect(Array.from(a.iscrowd)).toEqual([0, 1, 0]);
    expect(Array.from(a.difficult)).toEqual([0, 0, 0]);
    // area: as given; w * h of the clipped box where absent (20 * 79).
    expect(Array.from(a.area!)).toEqual([900.5, 5000, 20 * 79]);
    expect(ds.samples[1]!.labels).toHaveLength(0); // an image without objects is kept
    expect(ds.skipped.count).toBe(0);
  });

  it('round-trips through toCoco', () => {
    const ds = parseCoco(good);
    const again = parseCoco(JSON.parse(JSON.stringify(toCoco(ds, { categoryIds: ds.categoryIds, fileName: (s) => s.image as string }))));
    expect(again.classes).toEqual(ds.classes);
    expect(again.samples).toEqual(ds.samples);
  });

  const bad: [string, unknown, DataIssueKind, string, string][] = [
    ['not JSON', '{"images": [', 'malformed-file', '', 'is not valid JSON'],
    ['no images', { categories: [] }, 'malformed-file', '', "no 'images' array"],
    ['annotations not an array', { ...good, annotations: {} }, 'malformed-file', '', "'annotations'"],
    ['category without a name', { ...good, categories: [{ id: 1 }] }, 'malformed-record', 'categories[0] (id 1)', 'string name'],
    ['duplicate category', { ...good, categories: [{ id: 1, name: 'a' }, { id: 1, name: 'b' }] }, 'duplicate-id', 'categories[1] (id 1, name "b")', 'repeats'],
    ['duplicate image', { ...good, images: [good.images[0], good.images[0]] }, 'duplicate-id', 'images[1] (id 7, file_name "a.png")', 'repeats image id 7'],
    // Regression (issue 15 item 7): these three were accepted.
    ['duplicate category name', { ...good, categories: [{ id: 1, name: 'dog' }, { id: 18, name: 'dog' }] }, 'duplicate-id', 'categories[1] (id 18, name "dog")', 'repeats category name "dog" (also category id 1)'],
    ['duplicate annotation id', { ...good, annotations: [good.annotations[0], { ...good.annotations[1], id: 1 }] }, 'duplicate-id', 'annotations[1] (id 1, image_id 7)', 'repeats annotation id 1 (first at annotations[0])'],
    ['non-integer image width', { ...good, images: [{ id: 1, file_name: 'x.png', width: 100.5, height: 5 }] }, 'malformed-record', 'images[0] (id 1, file_name "x.png")', 'width 100.5, expected a positive integer'],
    ['non-integer annotation id', withAnn({ id: 1.5, image_id: 7, category_id: 1, bbox: [0, 0, 1, 1] }), 'malformed-record', 'annotations[0] (id 1.5, image_id 7)', 'has id 1.5'],
    ['image without size', { ...good, images: [{ id: 1, file_name: 'x.png', width: 0, height: 5 }] }, 'malformed-record', 'images[0] (id 1, file_name "x.png")', 'width 0'],
    ['unknown category', withAnn({ id: 9, image_id: 7, category_id: 5, bbox: [0, 0, 1, 1] }), 'unknown-category', 'annotations[0] (id 9, image_id 7)', 'category_id 5'],
    ['unknown image', withAnn({ id: 9, image_id: 70, category_id: 1, bbox: [0, 0, 1, 1] }), 'malformed-record', 'annotations[0] (id 9, image_id 70)', 'image_id 70'],
    ['negative width (x2 < x1)', withAnn({ id: 9, image_id: 7, category_id: 1, bbox: [5, 5, -3, 4] }), 'box-inverted', 'annotations[0] (id 9, image_id 7)', 'x2 < x1'],
    ['negative height', withAnn({ id: 9, image_id: 7, category_id: 1, bbox: [5, 5, 3, -4] }), 'box-inverted', 'annotations[0] (id 9, image_id 7)', 'y2 < y1'],
    ['zero width', withAnn({ id: 9, image_id: 7, category_id: 1, bbox: [5, 5, 0, 4] }), 'box-inverted', 'annotations[0] (id 9, image_id 7)', 'zero width'],
    ['NaN coordinate', withAnn({ id: 9, image_id: 7, category_id: 1, bbox: [5, 5, 'x', 4] }), 'box-not-finite', 'annotations[0] (id 9, image_id 7)', 'non-numeric'],
    ['bbox not 4 numbers', withAnn({ id: 9, image_id: 7, category_id: 1, bbox: [5, 5, 4] }), 'malformed-record', 'annotations[0] (id 9, image_id 7)', 'expected [x, y, w, h]'],
    ['box outside the image', withAnn({ id: 9, image_id: 7, category_id: 1, bbox: [90, 10, 20, 10] }), 'box-outside-image', 'annotations[0] (id 9, image_id 7)', 'outside the 100 x 80 image'],
    ['bad iscrowd', withAnn({ id: 9, image_id: 7, category_id: 1, bbox: [1, 1, 2, 2], iscrowd: 2 }), 'malformed-record', 'annotations[0] (id 9, image_id 7)', 'iscrowd 2'],
  ];
  for (const [name, doc, kind, record, text] of bad) {
    it(`bad data: ${name} -> ${kind}, naming the file and record`, () => {
      const e = issue(() => parseCoco(typeof doc === 'string' ? doc : JSON.stringify(doc), { file: 'val.json' }));
      expect(e.kind).toBe(kind);
      expect(e.file).toBe('val.json');
      expect(e.record).toBe(record);
      expect(e.code).toBe('DATA');
      expect(e.message).toContain(`data: val.json${record ? `: ${record}` : ''}: `);
      expect(e.message).toContain(text);
      // skippable says exactly whether onInvalid: 'skip' gets past the same problem.
      const skipGetsPast = (() => {
        try {
          parseCoco(typeof doc === 'string' ? doc : JSON.stringify(doc), { file: 'val.json', onInvalid: 'skip' });
          return true;
        } catch {
          return false;
        }
      })();
      expect(e.skippable).toBe(skipGetsPast);
    });
  }

  it("onInvalid: 'skip' leaves bad records out and counts them by kind", () => {
    const doc = {
      ...good,
      images: [...good.images, { id: 3, file_name: 'dup.png', width: 5, height: 5 }],
      annotations: [
        ...good.annotations,
        { id: 10, image_id: 7, category_id: 99, bbox: [0, 0, 1, 1] },
        { id: 11, image_id: 7, category_id: 1, bbox: [5, 5, -1, 1] },
        { id: 12, image_id: 3, category_id: 1, bbox: [1, 1, 100, 1] },
      ],
    };
    const ds = parseCoco(doc, { onInvalid: 'skip' });
    expect(ds.samples[0]!.labels).toHaveLength(3);
    expect(ds.samples[1]!.labels).toHaveLength(0);
    expect(ds.skipped.count).toBe(4);
    expect(ds.skipped.byKind).toEqual({ 'duplicate-id': 1, 'unknown-category': 1, 'box-inverted': 1, 'box-outside-image': 1 });
    expect(ds.skipped.examples.map((e) => e.record)).toEqual([
      'images[2] (id 3, file_name "dup.png")',
      'annotations[3] (id 10, image_id 7)',
      'annotations[4] (id 11, image_id 7)',
      'annotations[5] (id 12, image_id 3)',
    ]);
    // A malformed file still throws.
    expect(issue(() => parseCoco('nope', { onInvalid: 'skip' })).kind).toBe('malformed-file');
  });

  it('boxTolerance: 0 makes any overhang an error', () => {
    expect(issue(() => parseCoco(good, { boxTolerance: 0 })).record).toBe('annotations[2] (id 3, image_id 7)');
    expect(() => parseCoco(good, { boxTolerance: -1 })).toThrow(/boxTolerance/);
  });
});
