import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, DetkitError, InvalidArgumentError, InvalidValueError, ShapeError } from './errors';

describe('DetkitError', () => {
  it('carries a code, a name and typed fields', () => {
    const e = new ShapeError('boxIou', 'boxes1', '[N, 4]', [3, 5]);
    expect(e.code).toBe('SHAPE');
    expect(e.name).toBe('ShapeError');
    expect(e.message).toBe("boxIou: 'boxes1' must have shape [N, 4], got [3, 5]");
    expect(e).toBeInstanceOf(DetkitError);
    expect(e).toBeInstanceOf(Error);
    const v = new InvalidValueError('nms', 'scores', 'has a NaN', 7);
    expect([v.code, v.argument, v.index]).toEqual(['INVALID_VALUE', 'scores', 7]);
    expect(v.message).toContain('(first at row 7)');
    const a = new InvalidArgumentError('nms', 'iouThreshold', 'must be in [0, 1]');
    expect([a.code, a.argument]).toEqual(['INVALID_ARGUMENT', 'iouThreshold']);
    const cause = new Error('no CUDA');
    const b = new BackendUnavailableError('gpu', 'tfjs-node-gpu failed to load', 'npm install @tensorflow/tfjs-node-gpu', { cause });
    expect([b.code, b.backend, b.hint, b.cause]).toEqual(['BACKEND_UNAVAILABLE', 'gpu', 'npm install @tensorflow/tfjs-node-gpu', cause]);
  });

  it('isInstance recognises errors from another copy of the package, and nothing else', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('detkit.error')]: true });
    expect(DetkitError.isInstance(foreign)).toBe(true);
    expect(DetkitError.isInstance(new ShapeError('op', 'x', '[N]', []))).toBe(true);
    expect(DetkitError.isInstance(new Error('plain'))).toBe(false);
    expect(DetkitError.isInstance(null)).toBe(false);
    expect(DetkitError.isInstance('SHAPE')).toBe(false);
  });
});
