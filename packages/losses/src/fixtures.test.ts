// Parity with torch 1.13 / torchvision 0.14: every case in fixtures/losses.json (written by
// tooling/fixtures/generate.py), values and input gradients (torch autograd), on every Node backend,
// within 1e-5 (absolute + relative).
import { tf } from '@detkit/core';
import { describeEachBackend, expectClose, readFixture } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import {
  binaryCrossEntropyWithLogits,
  ciouLoss,
  crossEntropyLoss,
  diouLoss,
  fastRcnnLoss,
  giouLoss,
  multiboxLoss,
  rpnLoss,
  sigmoidFocalLoss,
  smoothL1Loss,
  type DetectionLoss,
} from './index';

type Nested = number | Nested[];
interface Case {
  fn: string;
  name: string;
  kind?: 'giou' | 'diou' | 'ciou';
  options: Record<string, unknown>;
  inputs: Record<string, Nested>;
  labels?: Nested;
  expected: Nested | { classification: number; regression: number; total: number };
  cotangent?: Nested;
  grads: Record<string, Nested>;
}
const fixture = readFixture(new URL('../fixtures/losses.json', import.meta.url)) as { cases: Case[]; torchvision: string; torch: string };

/** Tensor of a fixture array; an empty array of boxes keeps its [0, 4] shape. */
function tensorOf(v: Nested, emptyShape: number[] = [0, 4]): tf.Tensor {
  return Array.isArray(v) && v.length === 0 ? tf.zeros(emptyShape) : tf.tensor(v as number[]);
}

/** expectClose for a value that may be a scalar. */
function close(actual: tf.Tensor, expected: Nested, what: string): void {
  if (Array.isArray(expected)) expectClose(actual, expected, { what });
  else {
    expect(actual.shape, `${what}: shape`).toEqual([]);
    expectClose(actual.dataSync(), [expected], { what });
  }
}

type Elementwise = (inputs: tf.Tensor[], c: Case) => tf.Tensor;
type Composite = (inputs: Record<string, tf.Tensor>, labels: tf.Tensor, c: Case) => DetectionLoss;

/** Elementwise and reduced losses: the inputs in the order of the case's `inputs`. */
const ELEMENTWISE: Record<string, Elementwise> = {
  'torch.nn.functional.smooth_l1_loss': ([p, t], c) => smoothL1Loss(p!, t!, c.options),
  'torch.nn.functional.binary_cross_entropy_with_logits': ([x, t], c) => binaryCrossEntropyWithLogits(x!, t!, c.options),
  'torchvision.ops.sigmoid_focal_loss': ([x, t], c) => sigmoidFocalLoss(x!, t!, c.options),
  'torchvision.ops.generalized_box_iou_loss': ([a, b], c) => giouLoss(a!, b!, c.options),
  'torchvision.ops.distance_box_iou_loss': ([a, b], c) => diouLoss(a!, b!, c.options),
  'torchvision.ops.complete_box_iou_loss': ([a, b], c) => ciouLoss(a!, b!, c.options),
};

const rpn: Composite = (x, labels, c) => rpnLoss(x.objectness!, x.boxDeltas!, labels, x.boxTargets!, c.options);
const fastRcnn: Composite = (x, labels, c) => fastRcnnLoss(x.classLogits!, x.boxRegression!, labels, x.regressionTargets!, c.options);
const multibox: Composite = (x, labels, c) => multiboxLoss(x.clsLogits!, x.boxDeltas!, labels, x.boxTargets!, c.options);

function compositeOf(fn: string): Composite {
  if (fn.includes('RegionProposalNetwork') || fn.startsWith('Ren et al.') || fn.includes('walk-through RPN') || fn.startsWith('keras-frcnn')) return rpn;
  if (fn.includes('fastrcnn_loss') || fn.includes('walk-through roi_loss')) return fastRcnn;
  if (fn.includes('SSD.compute_loss')) return multibox;
  throw new Error(`no runner for fixture fn ${fn}`);
}

it('fixtures come from torchvision 0.14 and cover every loss', () => {
  expect(fixture.torchvision).toMatch(/^0\.14/);
  const fns = new Set(fixture.cases.map((c) => c.fn));
  for (const fn of Object.keys(ELEMENTWISE)) expect(fns.has(fn), fn).toBe(true);
  for (const fn of [
    'torch.nn.functional.cross_entropy',
    'torchvision.models.detection.rpn.RegionProposalNetwork.compute_loss',
    'torchvision.models.detection.roi_heads.fastrcnn_loss',
    'torchvision.models.detection.ssd.SSD.compute_loss',
  ]) {
    expect(fns.has(fn), fn).toBe(true);
  }
  expect(fixture.cases.length).toBeGreaterThan(80);
});

describeEachBackend('torch parity: values and input gradients', () => {
  for (const c of fixture.cases.filter((k) => k.fn in ELEMENTWISE)) {
    it(`${c.fn.split('.').pop()} ${c.name} ${JSON.stringify(c.options)}`, () => {
      const run = ELEMENTWISE[c.fn]!;
      const names = Object.keys(c.inputs);
      const xs = names.map((n) => tensorOf(c.inputs[n]!));
      const out = run(xs, c);
      close(out, c.expected as Nested, 'value');
      if (xs[0]!.size > 0) {
        const cot = tf.tensor(c.cotangent as number[]);
        const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(run(args, c), cot)))(xs);
        names.forEach((n, i) => expectClose(grads[i]!, c.grads[n], { what: `d/d${n}` }));
        tf.dispose([cot, ...grads]);
      }
      tf.dispose([out, ...xs]);
    });
  }

  for (const c of fixture.cases.filter((k) => k.fn === 'torch.nn.functional.cross_entropy')) {
    it(`cross_entropy ${c.name} ${JSON.stringify(c.options)}`, () => {
      const logits = tf.tensor(c.inputs.logits as number[]);
      const labels = tf.tensor(c.labels as number[], undefined, 'int32');
      const f = (x: tf.Tensor) => crossEntropyLoss(x, labels, c.options);
      const out = f(logits);
      close(out, c.expected as Nested, 'value');
      const cot = tf.tensor(c.cotangent as number[]);
      const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x), cot)))(logits);
      expectClose(g, c.grads.logits, { what: 'd/dlogits' });
      tf.dispose([logits, labels, out, cot, g]);
    });
  }

  for (const c of fixture.cases.filter((k) => !(k.fn in ELEMENTWISE) && k.fn !== 'torch.nn.functional.cross_entropy')) {
    it(`${c.fn.split(' (')[0]} ${c.name}`, () => {
      const run = compositeOf(c.fn);
      const inputs = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, tf.tensor(v as number[])]));
      const labels = tf.tensor(c.labels as number[], undefined, 'int32');
      const expected = c.expected as { classification: number; regression: number; total: number };
      const loss = run(inputs, labels, c);
      close(loss.classification, expected.classification, 'classification');
      close(loss.regression, expected.regression, 'regression');
      close(loss.total, expected.total, 'total');
      const names = Object.keys(c.grads);
      const grads = tf.grads((...xs: tf.Tensor[]) => {
        const replaced = { ...inputs, ...Object.fromEntries(names.map((n, i) => [n, xs[i]!])) };
        return run(replaced, labels, c).total;
      })(names.map((n) => inputs[n]!));
      names.forEach((n, i) => expectClose(grads[i]!, c.grads[n], { what: `d total / d${n}` }));
      tf.dispose([labels, ...Object.values(inputs), ...grads, loss.total, loss.classification, loss.regression]);
    });
  }
});
