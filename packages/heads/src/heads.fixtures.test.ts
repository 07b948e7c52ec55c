// Parity with torchvision 0.14's heads: RPNHead (+ concat_box_prediction_layers), the walk-through's RPN,
// TwoMLPHead + FastRCNNPredictor and SSDHead. For each case in fixtures/heads.json the torch weights are
// converted into detkit's layouts and loaded, and the outputs, the input gradients and every weight's
// gradient (of sum(output * upstream)) are compared within 1e-5 on every Node backend.
import { tf } from '@detkit/core';
import { describeEachBackend, expectClose, readFixture } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { createBoxHead, createRpnHead, createSsdHead, type HeadWeights } from './index';

type Nested = number | Nested[];
interface HeadCase {
  fn: string;
  name: string;
  numAnchors?: number | number[];
  weights: Record<string, Nested>;
  inputs: Nested[];
  upstream: Nested[];
  expected: Nested[];
  inputGrads: Nested[];
  weightGrads: Record<string, Nested>;
}
const fixture = readFixture(new URL('../fixtures/heads.json', import.meta.url)) as { cases: HeadCase[]; torchvision: string };
const byName = (name: string) => fixture.cases.find((c) => c.name === name)!;

/**
 * How a torch parameter maps onto a detkit variable: its key and the layout change. Conv weights
 * [out, in, kh, kw] → [kh, kw, in, out]; linear weights [out, in] → [in, out]; fc6's input rows also go
 * from torch's (c, h, w) flatten order to NHWC's (h, w, c).
 */
type Layout = 'conv' | 'linear' | 'fc6' | 'bias';
function toDetkit(value: Nested, layout: Layout, pooled?: [number, number, number]): tf.Tensor {
  return tf.tidy(() => {
    const t = tf.tensor(value as number[]);
    switch (layout) {
      case 'conv':
        return tf.transpose(t, [2, 3, 1, 0]);
      case 'linear':
        return tf.transpose(t);
      case 'fc6': {
        const [c, h, w] = pooled!;
        const out = t.shape[0] as number;
        return tf.reshape(tf.transpose(tf.reshape(t, [out, c, h, w]), [2, 3, 1, 0]), [h * w * c, out]);
      }
      case 'bias':
        return t;
    }
  });
}

const nhwc = (x: Nested) => tf.tidy(() => tf.transpose(tf.tensor(x as number[]), [0, 2, 3, 1]));

/** Maps torch parameter names to [detkit key, layout]. */
type KeyMap = Record<string, [string, Layout]>;

/**
 * Loads the case's weights into `head`, runs `forward` on the NHWC inputs and checks outputs, input
 * gradients and weight gradients against the fixture.
 */
function checkCase(head: HeadWeights, c: HeadCase, keys: KeyMap, forward: (xs: tf.Tensor[]) => tf.Tensor[], pooled?: [number, number, number]) {
  tf.tidy(() => {
    expect(Object.keys(keys).sort()).toEqual(Object.keys(c.weights).sort());
    expect(Object.keys(head.variables).sort()).toEqual(Object.values(keys).map(([k]) => k).sort());
    for (const [torchName, [key, layout]] of Object.entries(keys)) head.variables[key]!.assign(toDetkit(c.weights[torchName]!, layout, pooled));
    const inputs = c.inputs.map((x) => tf.variable(nhwc(x)));
    const upstream = c.upstream.map((u) => tf.tensor(u as number[]));
    const outputs = forward(inputs);
    outputs.forEach((o, i) => expectClose(o, c.expected[i], { what: `output ${i}` }));
    const varList = [...inputs, ...Object.values(head.variables)];
    const { grads } = tf.variableGrads(() => tf.addN(forward(inputs).map((o, i) => tf.sum(tf.mul(o, upstream[i]!)))) as tf.Scalar, varList);
    inputs.forEach((x, i) => expectClose(tf.transpose(grads[x.name]!, [0, 3, 1, 2]), c.inputGrads[i], { what: `input ${i} gradient` }));
    for (const [torchName, [key, layout]] of Object.entries(keys)) {
      const v = head.variables[key]!;
      expectClose(grads[v.name]!, toDetkit(c.weightGrads[torchName]!, layout, pooled).arraySync(), { what: `${key} gradient` });
    }
    inputs.forEach((x) => x.dispose());
  });
}

it('fixtures come from torchvision 0.14', () => {
  expect(fixture.torchvision).toMatch(/^0\.14/);
  expect(fixture.cases).toHaveLength(5);
});

const RPN_KEYS: KeyMap = {
  'conv.0.0.weight': ['conv/kernel', 'conv'],
  'conv.0.0.bias': ['conv/bias', 'bias'],
  'cls_logits.weight': ['cls_logits/kernel', 'conv'],
  'cls_logits.bias': ['cls_logits/bias', 'bias'],
  'bbox_pred.weight': ['bbox_pred/kernel', 'conv'],
  'bbox_pred.bias': ['bbox_pred/bias', 'bias'],
};

describeEachBackend('torchvision parity: heads', () => {
  for (const levels of [1, 2]) {
    it(`RPNHead + concat_box_prediction_layers, ${levels} level(s)`, () => {
      const c = byName(`${levels} level(s)`);
      const head = createRpnHead({ inChannels: 6, midChannels: 6, numAnchors: 3 });
      try {
        checkCase(head, c, RPN_KEYS, (xs) => {
          const out = head.apply(xs);
          return [out.objectness, out.deltas];
        });
        const out = head.apply(c.inputs.map(nhwc));
        expect(out.anchorsPerLevel).toEqual(levels === 1 ? [5 * 7 * 3] : [5 * 7 * 3, 3 * 4 * 3]);
        tf.dispose([out.objectness, out.deltas]);
      } finally {
        head.dispose();
      }
    });
  }

  it("the walk-through's RPN: two logits per anchor, 7 mid channels", () => {
    const c = byName('walk-through');
    const head = createRpnHead({ inChannels: 5, midChannels: 7, numAnchors: 3, objectnessLogits: 2 });
    const keys: KeyMap = {
      'conv1.weight': ['conv/kernel', 'conv'],
      'conv1.bias': ['conv/bias', 'bias'],
      'cls_layer.weight': ['cls_logits/kernel', 'conv'],
      'cls_layer.bias': ['cls_logits/bias', 'bias'],
      'reg_layer.weight': ['bbox_pred/kernel', 'conv'],
      'reg_layer.bias': ['bbox_pred/bias', 'bias'],
    };
    try {
      checkCase(head, c, keys, (xs) => {
        const out = head.apply(xs[0]!);
        return [out.objectness, out.deltas];
      });
    } finally {
      head.dispose();
    }
  });

  it('TwoMLPHead + FastRCNNPredictor', () => {
    const c = byName('box head');
    const head = createBoxHead({ inChannels: 3, poolSize: 3, representationSize: 16, numClasses: 4 });
    const keys: KeyMap = {
      'box_head.fc6.weight': ['fc6/kernel', 'fc6'],
      'box_head.fc6.bias': ['fc6/bias', 'bias'],
      'box_head.fc7.weight': ['fc7/kernel', 'linear'],
      'box_head.fc7.bias': ['fc7/bias', 'bias'],
      'box_predictor.cls_score.weight': ['cls_score/kernel', 'linear'],
      'box_predictor.cls_score.bias': ['cls_score/bias', 'bias'],
      'box_predictor.bbox_pred.weight': ['bbox_pred/kernel', 'linear'],
      'box_predictor.bbox_pred.bias': ['bbox_pred/bias', 'bias'],
    };
    try {
      checkCase(head, c, keys, (xs) => {
        const out = head.apply(xs[0]!);
        return [out.classLogits, out.boxDeltas];
      }, [3, 3, 3]);
    } finally {
      head.dispose();
    }
  });

  it('SSDHead, two levels', () => {
    const c = byName('ssd head');
    const head = createSsdHead({ inChannels: [4, 6], numAnchors: [4, 6], numClasses: 3 });
    const keys: KeyMap = {};
    for (const i of [0, 1]) {
      keys[`classification_head.module_list.${i}.weight`] = [`classification/${i}/kernel`, 'conv'];
      keys[`classification_head.module_list.${i}.bias`] = [`classification/${i}/bias`, 'bias'];
      keys[`regression_head.module_list.${i}.weight`] = [`regression/${i}/kernel`, 'conv'];
      keys[`regression_head.module_list.${i}.bias`] = [`regression/${i}/bias`, 'bias'];
    }
    try {
      checkCase(head, c, keys, (xs) => {
        const out = head.apply(xs);
        return [out.classLogits, out.boxDeltas];
      });
    } finally {
      head.dispose();
    }
  });
});
