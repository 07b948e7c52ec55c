// The shared option checks (issue 17): numberOption, integerOption, booleanOption. Expected messages are
// written out by hand from the rules in options.ts.
import { describe, expect, it } from 'vitest';
import { assertNumberInRange } from './checks';
import { DetkitError, InvalidArgumentError } from './errors';
import { booleanOption, integerOption, numberOption } from './options';

function thrown(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect(DetkitError.isInstance(e)).toBe(true);
    return e as InvalidArgumentError;
  }
  throw new Error('nothing was thrown');
}

describe('numberOption', () => {
  it('returns numbers within the bounds, bounds included', () => {
    expect(numberOption('nms', 'iouThreshold', 0, { min: 0, max: 1 })).toBe(0);
    expect(numberOption('nms', 'iouThreshold', 1, { min: 0, max: 1 })).toBe(1);
    expect(numberOption('nms', 'iouThreshold', 0.5, { min: 0, max: 1 })).toBe(0.5);
    expect(numberOption('op', 'x', -1e300)).toBe(-1e300);
  });

  it('names the op and the argument, with the bounds and the value, in an InvalidArgumentError', () => {
    const e = thrown(() => numberOption('nms', 'iouThreshold', 1.5, { min: 0, max: 1 }));
    expect(e.argument).toBe('iouThreshold');
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe("nms: 'iouThreshold' must be a number in [0, 1], got 1.5");
    expect(thrown(() => numberOption('nms', 'iouThreshold', -0.1, { min: 0, max: 1 })).message).toBe("nms: 'iouThreshold' must be a number in [0, 1], got -0.1");
  });

  it('rejects other types, quoting strings and showing arrays and objects', () => {
    expect(thrown(() => numberOption('op', 'x', '0.5', { min: 0, max: 1 })).message).toBe(`op: 'x' must be a number in [0, 1], got "0.5"`);
    expect(thrown(() => numberOption('op', 'x', [0.5], { min: 0, max: 1 })).message).toBe("op: 'x' must be a number in [0, 1], got [0.5]");
    expect(thrown(() => numberOption('op', 'x', { v: 1 })).message).toBe(`op: 'x' must be a finite number, got {"v":1}`);
    expect(thrown(() => numberOption('op', 'x', null)).message).toBe("op: 'x' must be a finite number, got null");
    expect(thrown(() => numberOption('op', 'x', true)).message).toBe("op: 'x' must be a finite number, got true");
    expect(thrown(() => numberOption('op', 'x', 1n)).message).toBe("op: 'x' must be a finite number, got 1");
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    expect(thrown(() => numberOption('op', 'x', cyclic)).message).toBe("op: 'x' must be a finite number, got [object Object]");
  });

  it('rejects NaN always, even with no bounds and with allowInfinity', () => {
    expect(thrown(() => numberOption('op', 'x', NaN)).message).toBe("op: 'x' must be a finite number, got NaN");
    expect(thrown(() => numberOption('op', 'x', NaN, { allowInfinity: true })).message).toBe("op: 'x' must be a number, got NaN");
    expect(thrown(() => numberOption('op', 'x', NaN, { min: -Infinity, max: Infinity, allowInfinity: true })).message).toBe(
      "op: 'x' must be a number in [-Infinity, Infinity], got NaN",
    );
  });

  it('rejects infinities unless allowInfinity, and then only within the bounds', () => {
    expect(thrown(() => numberOption('smoothL1Loss', 'beta', Infinity, { min: 0 })).message).toBe("smoothL1Loss: 'beta' must be a finite number >= 0, got Infinity");
    expect(thrown(() => numberOption('op', 'x', -Infinity)).message).toBe("op: 'x' must be a finite number, got -Infinity");
    // [0, 1.79e308]: the bounds exclude the infinities already, so the message does not say "finite".
    expect(thrown(() => numberOption('op', 'x', Infinity, { min: 0, max: Number.MAX_VALUE })).message).toBe(
      "op: 'x' must be a number in [0, 1.7976931348623157e+308], got Infinity",
    );
    expect(numberOption('softNms', 'sigma', Infinity, { min: Number.MIN_VALUE, max: Infinity, allowInfinity: true })).toBe(Infinity);
    expect(numberOption('op', 'x', -Infinity, { allowInfinity: true })).toBe(-Infinity);
    expect(thrown(() => numberOption('op', 'x', -Infinity, { min: 0, allowInfinity: true })).message).toBe("op: 'x' must be a number >= 0, got -Infinity");
    expect(thrown(() => numberOption('op', 'x', Infinity, { max: 1, allowInfinity: true })).message).toBe("op: 'x' must be a number <= 1, got Infinity");
  });

  it('one-sided bounds and an exclusive minimum', () => {
    expect(numberOption('op', 'x', 5e-324, { min: 0, minExclusive: true })).toBe(5e-324);
    expect(thrown(() => numberOption('roiAlign', 'spatialScale', 0, { min: 0, minExclusive: true })).message).toBe(
      "roiAlign: 'spatialScale' must be a finite number > 0, got 0",
    );
    expect(thrown(() => numberOption('op', 'x', 0, { min: 0, max: 1, minExclusive: true })).message).toBe("op: 'x' must be a number in (0, 1], got 0");
    expect(numberOption('op', 'x', 1, { min: 0, max: 1, minExclusive: true })).toBe(1);
    expect(thrown(() => numberOption('op', 'x', 2, { max: 1 })).message).toBe("op: 'x' must be a finite number <= 1, got 2");
    expect(numberOption('op', 'x', -5, { max: 1 })).toBe(-5);
  });

  it('undefined gives the default when there is one (unchecked), and is an error otherwise; null is not undefined', () => {
    expect(numberOption('op', 'x', undefined, { default: 2, min: 0 })).toBe(2);
    expect(numberOption('op', 'x', undefined, { default: -1, min: 0 })).toBe(-1);
    expect(numberOption('op', 'x', 3, { default: 2, min: 0 })).toBe(3);
    expect(thrown(() => numberOption('op', 'x', undefined, { min: 0, max: 1 })).message).toBe("op: 'x' must be a number in [0, 1], got undefined");
    expect(thrown(() => numberOption('op', 'x', null, { default: 2, min: 0 })).message).toBe("op: 'x' must be a finite number >= 0, got null");
  });

  it('assertNumberInRange is the same check', () => {
    expect(() => assertNumberInRange('vocEval', 'iouThreshold', 0.5, 0, 1)).not.toThrow();
    expect(thrown(() => assertNumberInRange('vocEval', 'iouThreshold', NaN, 0, 1)).message).toBe("vocEval: 'iouThreshold' must be a number in [0, 1], got NaN");
  });
});

describe('integerOption', () => {
  it('returns integers within the bounds, bounds included', () => {
    expect(integerOption('op', 'x', 0, { min: 0 })).toBe(0);
    expect(integerOption('op', 'x', 6, { min: 0, max: 6 })).toBe(6);
    expect(integerOption('op', 'x', -7)).toBe(-7);
    expect(integerOption('op', 'x', 2.0)).toBe(2);
  });

  it('rejects fractions, NaN, infinities and other types with an InvalidArgumentError naming op and argument', () => {
    const e = thrown(() => integerOption('sampleBalanced', 'batchSize', 0.5, { min: 0 }));
    expect(e.argument).toBe('batchSize');
    expect(e.message).toBe("sampleBalanced: 'batchSize' must be an integer >= 0, got 0.5");
    expect(thrown(() => integerOption('op', 'seed', NaN)).message).toBe("op: 'seed' must be an integer, got NaN");
    expect(thrown(() => integerOption('op', 'seed', Infinity)).message).toBe("op: 'seed' must be an integer, got Infinity");
    expect(thrown(() => integerOption('op', 'seed', -Infinity)).message).toBe("op: 'seed' must be an integer, got -Infinity");
    expect(thrown(() => integerOption('op', 'seed', '3')).message).toBe(`op: 'seed' must be an integer, got "3"`);
    expect(thrown(() => integerOption('op', 'seed', [3])).message).toBe("op: 'seed' must be an integer, got [3]");
  });

  it('bounds: >= min, <= max, in [min, max]', () => {
    expect(thrown(() => integerOption('createBoxHead', 'numClasses', 0, { min: 1 })).message).toBe("createBoxHead: 'numClasses' must be an integer >= 1, got 0");
    expect(thrown(() => integerOption('op', 'x', 7, { min: 0, max: 6 })).message).toBe("op: 'x' must be an integer in [0, 6], got 7");
    expect(thrown(() => integerOption('op', 'x', -1, { min: 0, max: 6 })).message).toBe("op: 'x' must be an integer in [0, 6], got -1");
    expect(thrown(() => integerOption('op', 'x', 257, { max: 256 })).message).toBe("op: 'x' must be an integer <= 256, got 257");
  });

  it('allowInfinity accepts Infinity within the bounds only', () => {
    expect(integerOption('proposalLayer', 'postNmsTopN', Infinity, { min: 0, allowInfinity: true })).toBe(Infinity);
    expect(thrown(() => integerOption('proposalLayer', 'postNmsTopN', -Infinity, { min: 0, allowInfinity: true })).message).toBe(
      "proposalLayer: 'postNmsTopN' must be an integer >= 0 or Infinity, got -Infinity",
    );
    expect(thrown(() => integerOption('op', 'x', NaN, { min: 0, allowInfinity: true })).message).toBe("op: 'x' must be an integer >= 0 or Infinity, got NaN");
    expect(thrown(() => integerOption('op', 'x', Infinity, { min: 0, max: 10, allowInfinity: true })).message).toBe(
      "op: 'x' must be an integer in [0, 10] or Infinity, got Infinity",
    );
  });

  it('undefined gives the default when there is one, and is an error otherwise', () => {
    expect(integerOption('op', 'x', undefined, { default: -100 })).toBe(-100);
    expect(thrown(() => integerOption('op', 'x', undefined, { min: 1 })).message).toBe("op: 'x' must be an integer >= 1, got undefined");
  });
});

describe('booleanOption', () => {
  it('returns booleans, and the default for undefined', () => {
    expect(booleanOption('op', 'round', false, { default: true })).toBe(false);
    expect(booleanOption('op', 'round', true)).toBe(true);
    expect(booleanOption('op', 'round', undefined, { default: true })).toBe(true);
  });

  it('anything else is an InvalidArgumentError naming op and argument', () => {
    const e = thrown(() => booleanOption('generateAnchors', 'round', 'yes', { default: true }));
    expect(e.argument).toBe('round');
    expect(e.message).toBe(`generateAnchors: 'round' must be a boolean, got "yes"`);
    expect(thrown(() => booleanOption('op', 'clip', 1)).message).toBe("op: 'clip' must be a boolean, got 1");
    expect(thrown(() => booleanOption('op', 'clip', null, { default: false })).message).toBe("op: 'clip' must be a boolean, got null");
    expect(thrown(() => booleanOption('op', 'clip', undefined)).message).toBe("op: 'clip' must be a boolean, got undefined");
  });
});
