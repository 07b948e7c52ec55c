// parseVocXml: a Pascal VOC annotation in, one sample out, and every kind of bad object.
import { thrownDetkitError } from '@detkit/test-utils';
import { describe, expect, it } from 'vitest';
import { DataError, VOC_CLASSES, parseVocXml } from './index';

const issue = (fn: () => unknown) => thrownDetkitError(fn, DataError);

const obj = (name: string, box: (number | string)[], difficult?: number) =>
  `<object><name>${name}</name><pose>Left</pose><truncated>0</truncated>${difficult === undefined ? '' : `<difficult>${difficult}</difficult>`}<bndbox><xmin>${box[0]}</xmin><ymin>${box[1]}</ymin><xmax>${box[2]}</xmax><ymax>${box[3]}</ymax></bndbox></object>`;
const xml = (...objects: string[]) =>
  `<?xml version="1.0"?><annotation><folder>VOC2007</folder><filename>000005.jpg</filename><size><width>500</width><height>375</height><depth>3</depth></size><segmented>0</segmented>${objects.join('')}</annotation>`;

describe('parseVocXml', () => {
  it('reads size, classes, difficult flags; 1-based boxes become [xmin - 1, ymin - 1, xmax, ymax]', () => {
    const { sample, skipped } = parseVocXml(xml(obj('chair', [263, 211, 324, 339]), obj('chair', [5, 244, 67, 374], 1), obj('person', [1, 1, 500, 375], 0)), {
      file: 'Annotations/000005.xml',
      imageRoot: 'VOC2007/JPEGImages',
    });
    expect(sample.id).toBe('000005');
    expect(sample.image).toBe('VOC2007/JPEGImages/000005.jpg');
    expect([sample.width, sample.height]).toEqual([500, 375]);
    expect(Array.from(sample.boxes)).toEqual([262, 210, 324, 339, 4, 243, 67, 374, 0, 0, 500, 375]);
    expect(Array.from(sample.labels)).toEqual([VOC_CLASSES.indexOf('chair'), VOC_CLASSES.indexOf('chair'), VOC_CLASSES.indexOf('person')]);
    expect(Array.from(sample.difficult)).toEqual([0, 1, 0]);
    expect(Array.from(sample.iscrowd)).toEqual([0, 0, 0]);
    expect(sample.area).toBeUndefined();
    expect(skipped.count).toBe(0);
  });

  it('an image without objects is a sample with none; custom classes', () => {
    expect(parseVocXml(xml()).sample.labels).toHaveLength(0);
    const { sample } = parseVocXml(xml(obj('square', [1, 1, 10, 10])), { classes: ['circle', 'square'], id: 'x' });
    expect([sample.id, Array.from(sample.labels)]).toEqual(['x', [1]]);
  });

  const cases: [string, string, string, string, string][] = [
    ['not XML', '<annotation><filename>a.jpg</annotation>', 'malformed-file', '', 'not well-formed XML'],
    ['no <annotation>', '<foo/>', 'malformed-file', '', 'no <annotation>'],
    ['no <size>', '<annotation><filename>a.jpg</filename></annotation>', 'malformed-file', '', 'no valid <size>'],
    ['unknown class', xml(obj('unicorn', [1, 1, 10, 10])), 'unknown-category', 'object[0] (name "unicorn")', 'not one of the 20 classes'],
    ['xmax < xmin', xml(obj('dog', [1, 1, 10, 10]), obj('dog', [50, 1, 40, 10])), 'box-inverted', 'object[1] (name "dog")', 'x2 < x1'],
    ['ymax < ymin', xml(obj('dog', [1, 50, 10, 40])), 'box-inverted', 'object[0] (name "dog")', 'y2 < y1'],
    ['not a number', xml(obj('dog', [1, 'a', 10, 40])), 'box-not-finite', 'object[0] (name "dog")', 'not all numbers'],
    ['outside the image', xml(obj('dog', [1, 1, 600, 40])), 'box-outside-image', 'object[0] (name "dog")', 'outside the 500 x 375 image'],
    ['no bndbox', xml('<object><name>dog</name></object>'), 'malformed-record', 'object[0] (name "dog")', 'no <bndbox>'],
    ['no name', xml('<object><bndbox><xmin>1</xmin></bndbox></object>'), 'malformed-record', 'object[0]', 'no <name>'],
    ['bad difficult', xml(obj('dog', [1, 1, 10, 10], 2)), 'malformed-record', 'object[0] (name "dog")', '<difficult>'],
  ];
  for (const [name, doc, kind, record, text] of cases) {
    it(`bad data: ${name} -> ${kind}`, () => {
      const e = issue(() => parseVocXml(doc, { file: '000005.xml' }));
      expect([e.kind, e.file, e.record]).toEqual([kind, '000005.xml', record]);
      expect(e.message).toContain(text);
    });
  }

  it("onInvalid: 'skip' keeps the good objects and counts the rest", () => {
    const { sample, skipped } = parseVocXml(xml(obj('dog', [1, 1, 10, 10]), obj('unicorn', [1, 1, 10, 10]), obj('cat', [20, 1, 10, 10])), { onInvalid: 'skip' });
    expect(Array.from(sample.labels)).toEqual([VOC_CLASSES.indexOf('dog')]);
    expect(skipped.count).toBe(2);
    expect(skipped.byKind).toEqual({ 'unknown-category': 1, 'box-inverted': 1 });
  });
});
