// Fuzz suite (issue 15): every loss on hostile input (NaN, infinities, huge and tiny values, saturated
// logits, degenerate boxes, labels that are not integers or out of range, ragged, empty and wrong-dtype
// arrays, bad options). The only outcomes allowed: a typed DetkitError, or a finite loss of the
// documented shape with finite gradients, no tensor left behind, no hang. See @detkit/test-utils/fuzz.
import { tf } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import { fuzz, number, option, tensor } from '@detkit/test-utils/fuzz';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { binaryCrossEntropyWithLogits, ciouLoss, crossEntropyLoss, diouLoss, fastRcnnLoss, giouLoss, multiboxLoss, rpnLoss, sigmoidFocalLoss, smoothL1Loss } from './index';

const dim = fc.integer({ min: 0, max: 4 });
/** Logits: ordinary, saturated (±100, ±1e4) or nasty. */
const logit = fc.oneof({ weight: 6, arbitrary: number({ min: -10, max: 10 }) }, { weight: 1, arbitrary: fc.constantFrom(100, -100, 1e4, -1e4, 88.8, -88.8) });
const reduction = option(fc.constantFrom('none', 'sum', 'mean'));
/** Boxes for the IoU losses: ordinary, zero-size, inverted (x2 < x1, as untrained predictions are) or nasty. */
const lossBoxValue = fc.oneof({ weight: 6, arbitrary: fc.double({ min: -20, max: 60, noNaN: true }).map(Math.fround) }, { weight: 1, arbitrary: fc.constantFrom(0, 1, 1e-30, -0) }, { weight: 1, arbitrary: number() });
const label = (min: number, max: number) => fc.oneof({ weight: 8, arbitrary: fc.integer({ min, max }) }, { weight: 1, arbitrary: fc.constantFrom(NaN, 0.7, max + 1, -5) });
const scalarOrShape = (r: tf.Tensor, shape: readonly number[] | undefined, reductionArg: unknown) => {
  if (reductionArg === 'sum' || reductionArg === 'mean') expect(r.rank).toBe(0);
  else if (reductionArg === 'none' && shape) expect(r.shape).toEqual(shape);
};

describeEachBackend('fuzz', () => {
  it('smoothL1Loss, binaryCrossEntropyWithLogits, sigmoidFocalLoss', () => {
    const pair = (values: fc.Arbitrary<number>, targets: fc.Arbitrary<number>) => fc.tuple(dim, dim).chain(([a, b]) => fc.tuple(tensor([a, b], values), tensor([a, fc.constantFrom(b, b, b + 1)], targets)));
    fuzz('smoothL1Loss', fc.tuple(pair(number(), number()), fc.record({ beta: option(fc.double({ min: 0, max: 2, noNaN: true })), reduction }, { requiredKeys: [] })).map(([[p, t], o]) => [p, t, o]), (p, t, o) => smoothL1Loss(p, t, o), {
      grad: [0, 1],
      check: (r, [p, , o]) => scalarOrShape(r, p instanceof tf.Tensor ? p.shape : undefined, o.reduction),
    });
    const probability = fc.oneof(fc.constantFrom(0, 1), fc.double({ min: 0, max: 1, noNaN: true }), number());
    fuzz('binaryCrossEntropyWithLogits', fc.tuple(pair(logit, probability), fc.record({ reduction }, { requiredKeys: [] })).map(([[x, t], o]) => [x, t, o]), (x, t, o) => binaryCrossEntropyWithLogits(x, t, o), {
      grad: [0, 1],
      check: (r, [x, , o]) => scalarOrShape(r, x instanceof tf.Tensor ? x.shape : undefined, o.reduction),
    });
    const focal = fc.record({ alpha: option(fc.double({ min: -1, max: 1, noNaN: true })), gamma: option(fc.oneof(fc.constantFrom(0, 0.5, 1, 1.5, 2, 3), fc.double({ min: 0, max: 5, noNaN: true }))), reduction }, { requiredKeys: [] });
    fuzz('sigmoidFocalLoss', fc.tuple(pair(logit, probability), focal).map(([[x, t], o]) => [x, t, o]), (x, t, o) => sigmoidFocalLoss(x, t, o), {
      grad: [0, 1],
      check: (r, [x, , o]) => scalarOrShape(r, x instanceof tf.Tensor ? x.shape : undefined, o.reduction),
    });
  });

  it('crossEntropyLoss', () => {
    const args = fc.tuple(dim, fc.integer({ min: 1, max: 4 })).chain(([n, c]) =>
      fc.tuple(tensor([n, c], logit), tensor([fc.constantFrom(n, n, n + 1)], label(-100, c - 1), { dtype: 'int32' }), fc.record({ ignoreIndex: option(fc.constantFrom(-100, -1, 0)), reduction }, { requiredKeys: [] })),
    );
    fuzz('crossEntropyLoss', args, (x, l, o) => crossEntropyLoss(x, l, o), { grad: [0] });
  });

  it('giouLoss, diouLoss, ciouLoss', () => {
    const args = dim.chain((n) => fc.tuple(tensor([n, 4], lossBoxValue), tensor([fc.constantFrom(n, n, n + 1), 4], lossBoxValue), fc.record({ reduction, eps: option(fc.constantFrom(0, 1e-7, 1e-3)) }, { requiredKeys: [] })));
    for (const [name, op] of Object.entries({ giouLoss, diouLoss, ciouLoss })) {
      fuzz(name, args, (a, b, o) => op(a, b, o), { grad: [0, 1], check: (r, [a, , o]) => scalarOrShape(r, a instanceof tf.Tensor ? a.shape.slice(0, -1) : undefined, o.reduction) });
    }
  });

  it('rpnLoss, fastRcnnLoss, multiboxLoss', () => {
    const rpn = fc.tuple(fc.integer({ min: 1, max: 2 }), dim, fc.boolean()).chain(([b, a, softmax]) =>
      fc.tuple(
        tensor(softmax ? [b, a, 2] : [b, a], logit),
        tensor([b, a, 4], number({ min: -3, max: 3 })),
        tensor([b, a], label(-1, 1), { dtype: 'int32' }),
        tensor([b, a, 4], number({ min: -3, max: 3 })),
        fc.record({ normalization: option(fc.constantFrom('torchvision', 'paper', 'keras-frcnn')), lambda: option(fc.double({ min: 0, max: 10, noNaN: true })), beta: option(fc.double({ min: 0, max: 1, noNaN: true })), reduction }, { requiredKeys: [] }),
      ),
    );
    fuzz('rpnLoss', rpn, (o, d, l, t, opt) => rpnLoss(o, d, l, t, opt), { grad: [0, 1] });
    const fast = fc.tuple(dim, fc.integer({ min: 1, max: 3 })).chain(([n, k]) =>
      fc.tuple(
        tensor([n, k], logit),
        tensor([n, 4 * k], number({ min: -3, max: 3 })),
        tensor([n], label(0, k - 1), { dtype: 'int32' }),
        tensor([n, 4], number({ min: -3, max: 3 })),
        fc.record({ normalization: option(fc.constantFrom('torchvision', 'walk-through')), lambda: option(fc.double({ min: 0, max: 10, noNaN: true })), reduction }, { requiredKeys: [] }),
      ),
    );
    fuzz('fastRcnnLoss', fast, (c, r, l, t, opt) => fastRcnnLoss(c, r, l, t, opt), { grad: [0, 1] });
    const multibox = fc.tuple(fc.integer({ min: 1, max: 2 }), dim, fc.integer({ min: 2, max: 3 })).chain(([b, p, c]) =>
      fc.tuple(
        tensor([b, p, c], logit),
        tensor([b, p, 4], number({ min: -3, max: 3 })),
        tensor([b, p], label(-1, c - 1), { dtype: 'int32' }),
        tensor([b, p, 4], number({ min: -3, max: 3 })),
        fc.record({ negPosRatio: option(fc.oneof(fc.double({ min: 0, max: 5, noNaN: true }), fc.constantFrom(1e300, 2 ** 53))), minNegatives: option(fc.integer({ min: 0, max: 3 })), alpha: option(fc.double({ min: 0, max: 2, noNaN: true })), reduction }, { requiredKeys: [] }),
      ),
    );
    fuzz('multiboxLoss', multibox, (c, d, l, t, opt) => multiboxLoss(c, d, l, t, opt), { grad: [0, 1] });
  });

  it('issue 15 probes: zero-size CIoU and saturated focal gradients are finite; multiboxLoss names itself', () => {
    // ciouLoss of a 0 x 0 box against itself: torchvision's forward and gradients are NaN (atan(0 / 0));
    // here the loss is 1 - 0 + 0 / eps-diagonal + 0 = 1 and the gradient 0 (see the TSDoc).
    const z = tf.tensor2d([[1, 1, 1, 1]]);
    expect(Array.from(ciouLoss(z, z).dataSync())).toEqual([1]);
    const g = tf.grad((b: tf.Tensor) => ciouLoss(b, z))(z);
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
    // sigmoidFocalLoss, gamma 0.5, logit 100, target 1: torchvision's value 0, gradient NaN (inf x 0); here 0.
    const x = tf.tensor1d([100]);
    const t = tf.tensor1d([1]);
    expect(Array.from(sigmoidFocalLoss(x, t, { gamma: 0.5 }).dataSync())).toEqual([0]);
    const gx = tf.grad((v: tf.Tensor) => sigmoidFocalLoss(v, t, { gamma: 0.5 }))(x);
    expect(Array.from(gx.dataSync())).toEqual([0]);
    // multiboxLoss reports its own argument, not @detkit/samplers' mineHardNegatives.
    const args = [tf.zeros([1, 3, 2]), tf.zeros([1, 3, 4]), tf.tensor2d([[1, 0, 0]], undefined, 'int32'), tf.zeros([1, 3, 4])] as const;
    expect(() => multiboxLoss(...args, { negPosRatio: 1e300 })).toThrow(/^multiboxLoss: 'negPosRatio'/);
    expect(() => multiboxLoss(tf.fill([1, 3, 2], 3e38), args[1], args[2], args[3])).toThrow(/^multiboxLoss: 'clsLogits' has a value beyond ±1e15/);
    tf.dispose([z, g, x, t, gx, ...args]);
  });
});
