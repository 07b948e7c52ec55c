// Fuzz suite (issue 15): the evaluators and plots on hostile input (NaN, infinite or huge coordinates and
// scores, ragged boxes, missing or misspelled keys such as `score` or `label`, non-integer labels, empty
// images, NaN recall or precision). The only outcomes allowed: a typed DetkitError, or a finite result
// (AP in [0, 1], -1 where COCO has nothing to measure), no tensor left behind, no hang. See
// @detkit/test-utils/fuzz.
import { describeEachBackend } from '@detkit/test-utils';
import { boxes, fuzz, number, option, tensor } from '@detkit/test-utils/fuzz';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { evaluateCoco, evaluateVoc, formatApTable, prCurveSvg, vocAp, vocCurve } from './index';

const n = fc.integer({ min: 0, max: 4 });
const labelValue = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 2 }) }, { weight: 1, arbitrary: fc.constantFrom(NaN, 0.7, -1, 1e10) });
/** Renames a key now and then: a misspelling (`score`, `label`, `isCrowd`) or an unrelated extra key. */
const maybeRename = <T extends Record<string, unknown>>(entry: fc.Arbitrary<T>) =>
  fc.tuple(entry, fc.constantFrom(null, null, null, null, 'scores', 'labels', 'iscrowd', 'id')).map(([e, key]) => {
    if (key === null || !(key in e)) return key === 'id' ? { ...e, id: 7 } : e;
    const { [key]: value, ...rest } = e;
    return { ...rest, [key === 'iscrowd' ? 'isCrowd' : key.slice(0, -1)]: value };
  });
const gt = n.chain((k) =>
  maybeRename(
    fc.record(
      { boxes: boxes(4, { n: fc.constant(k) }), labels: tensor([k], labelValue, { dtype: 'int32' }), iscrowd: option(tensor([k], fc.constantFrom(0, 1))), difficult: option(tensor([k], fc.constantFrom(0, 1))), area: option(tensor([k], number({ min: 0, max: 1000 }))) },
      { requiredKeys: ['boxes', 'labels'] },
    ),
  ),
);
const dt = n.chain((k) => maybeRename(fc.record({ boxes: boxes(4, { n: fc.constant(k) }), scores: tensor([k], number({ min: 0, max: 1 })), labels: tensor([k], labelValue, { dtype: 'int32' }) })));
const images = fc.integer({ min: 0, max: 3 }).chain((m) => fc.tuple(fc.array(gt, { minLength: m, maxLength: m }), fc.array(dt, { minLength: m, maxLength: m })));

describeEachBackend(
  'fuzz',
  () => {
    it('evaluateVoc and evaluateCoco', () => {
      const vocOptions = fc.record({ iouThreshold: option(fc.double({ min: 0, max: 1, noNaN: true })), method: option(fc.constantFrom('11-point', 'all-point')), classes: option(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 })) }, { requiredKeys: [] });
      fuzz('evaluateVoc', fc.tuple(images, vocOptions).map(([[g, d], o]) => [g, d, o]), (g, d, o) => evaluateVoc(g, d, o as never), {
        check: (r) => {
          expect(r.map === -1 || (r.map >= 0 && r.map <= 1)).toBe(true); // -1: no class with positives (documented)
          for (const c of r.perClass) vocCurve(c);
        },
      });
      const cocoOptions = fc.record({ classes: option(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 })), maxDets: option(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 100 }))), iouThresholds: option(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 3 })) }, { requiredKeys: [] });
      fuzz('evaluateCoco', fc.tuple(images, cocoOptions).map(([[g, d], o]) => [g, d, o]), (g, d, o) => evaluateCoco(g, d, o as never), {
        check: (r) => expect(r.statsArray.every((v: number) => v === -1 || (v >= 0 && v <= 1))).toBe(true),
      });
    });

    it('vocAp, prCurveSvg, formatApTable', () => {
      const values = (k: number) => fc.array(number({ min: 0, max: 1 }), { minLength: k, maxLength: k });
      const curve = fc.integer({ min: 0, max: 5 }).chain((k) => fc.tuple(values(k), fc.constantFrom(k, k, k + 1).chain(values)));
      fuzz('vocAp', fc.tuple(curve, option(fc.constantFrom('11-point', 'all-point'))).map(([[r, p], m]) => [r, p, m]), (r, p, m) => vocAp(r, p, m as never), {
        // 11 x (1 / 11) sums to 1.0000000000000002 in float64, as in the devkit's voc_eval.py.
        check: (ap: number) => expect(ap >= 0 && ap <= 1 + 1e-12).toBe(true),
      });
      fuzz('prCurveSvg', fc.tuple(fc.array(curve.map(([recall, precision]) => ({ label: 'c', recall, precision })), { maxLength: 2 }), fc.record({ width: option(fc.integer({ min: 1, max: 800 })), height: option(fc.integer({ min: 1, max: 800 })) }, { requiredKeys: [] })), (c, o) => prCurveSvg(c, o as never), {
        check: (svg: string) => expect(svg).not.toMatch(/NaN|Infinity/),
      });
      const row = fc.record({ name: fc.constantFrom('a', 'b'), ap: number({ min: 0, max: 1 }) });
      fuzz('formatApTable', fc.tuple(fc.array(row, { maxLength: 3 }), fc.record({ digits: option(fc.integer({ min: 0, max: 6 })), scale: option(fc.constantFrom(1, 100)) }, { requiredKeys: [] })), (rows, o) => formatApTable(rows, o as never), {
        check: (table: string) => expect(typeof table).toBe('string'),
      });
    });

    it('issue 15 probes: misspelled or missing scores / labels name the key; NaN recall is an error', () => {
      const g = [{ boxes: [[0, 0, 1, 1]], labels: [0] }];
      expect(() => evaluateVoc(g, [{ boxes: [[0, 0, 1, 1]], score: [1], labels: [0] } as never])).toThrow(/evaluateVoc: 'detections\[0\]\.score' is not a known key; did you mean 'scores'\?/);
      expect(() => evaluateVoc(g, [{ boxes: [[0, 0, 1, 1]], scores: [1], label: [0] } as never])).toThrow(/'detections\[0\]\.label' is not a known key; did you mean 'labels'\?/);
      expect(() => evaluateVoc(g, [{ boxes: [[0, 0, 1, 1]], labels: [0] } as never])).toThrow(/'detections\[0\]\.scores' is missing/);
      expect(() => evaluateCoco([{ boxes: [[0, 0, 1, 1]], label: [0] } as never], [{ boxes: [], scores: [], labels: [] }])).toThrow(/evaluateCoco: 'groundTruth\[0\]\.label' is not a known key/);
      expect(evaluateVoc([{ ...g[0]!, id: 3 } as never], [{ boxes: [[0, 0, 1, 1]], scores: [1], labels: [0] }]).map).toBe(1); // other extra keys are fine
      expect(() => vocAp([NaN, 0.5], [1, 0.5])).toThrow(/vocAp: 'recall' has NaN, not a number in \[0, 1\] \(first at row 0\)/);
      expect(() => vocAp([0.5], [Infinity])).toThrow(/'precision' has Infinity/);
    });
  },
  ['cpu'],
);
