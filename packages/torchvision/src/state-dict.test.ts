import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend, tf } from '@detkit/core';
import { describeEachBackend, thrownDetkitError } from '@detkit/test-utils';
import { StateDictError } from './errors';
import { readSafetensors, writeSafetensors, type SafetensorsInput } from './safetensors';
import { ssdlite320MobilenetV3Large } from './ssdlite';
import { readFixture } from './test-fixtures';

const thrownStateDictError = (fn: () => unknown) => thrownDetkitError(fn, StateDictError);

const weights = readFixture('ssdlite320-w050-c4.weights.safetensors');
const small = () => ssdlite320MobilenetV3Large({ numClasses: 4, widthMult: 0.5 });

/** The fixture's state dict with `edit` applied to its entries (name -> input, or undefined to drop). */
function edited(edit: (entries: Map<string, SafetensorsInput>) => void): Uint8Array {
  const entries = new Map<string, SafetensorsInput>();
  for (const [name, e] of weights.file.tensors) entries.set(name, { dtype: e.dtype, shape: e.shape, data: e.bytes });
  edit(entries);
  return writeSafetensors(entries);
}

describeEachBackend('state dict round trip', () => {
  it('writes a loaded torchvision state dict back bit for bit, same names, order, dtypes and shapes', () => {
    const model = small();
    const before = tf.memory().numTensors;
    model.loadStateDict(weights.bytes);
    const saved = readSafetensors(model.saveStateDict());
    expect(tf.memory().numTensors).toBe(before);
    expect([...saved.tensors.keys()]).toEqual([...weights.file.tensors.keys()]);
    for (const [name, want] of weights.file.tensors) {
      const got = saved.tensors.get(name)!;
      expect([got.dtype, got.shape], name).toEqual([want.dtype, want.shape]);
      expect(Buffer.from(got.bytes).equals(Buffer.from(want.bytes)), `${name} bytes`).toBe(true);
    }
    model.dispose();
  });

  it('has torchvision state_dict names for every parameter and buffer (476 for SSDlite320, any width)', () => {
    const model = small();
    expect(model.parameters.names()).toEqual([...weights.file.tensors.keys()]);
    model.dispose();
  });
});

describe('loadStateDict errors', () => {
  beforeAll(() => setupBackend('cpu'));

  it('names a missing parameter and its expected torch shape', () => {
    const model = small();
    const e = thrownStateDictError(() => model.loadStateDict(edited((m) => m.delete('backbone.features.0.1.block.0.0.weight'))));
    expect([e.parameter, e.problem, e.expected, e.actual]).toEqual(['backbone.features.0.1.block.0.0.weight', 'missing', [8, 1, 3, 3], null]);
    expect(e.message).toMatch(/'backbone.features.0.1.block.0.0.weight' is missing .*\[8, 1, 3, 3\]/);
    model.dispose();
  });

  it('names a mis-shaped parameter with expected vs actual shape, and assigns nothing', () => {
    const model = small();
    const probe = model.parameters.get('backbone.features.0.0.1.weight');
    const initial = Array.from(probe.dataSync());
    const e = thrownStateDictError(() =>
      model.loadStateDict(edited((m) => m.set('backbone.extra.0.0.0.weight', { dtype: 'F32', shape: [256, 100, 1, 1], data: new Float32Array(25600) }))),
    );
    // backbone.extra.0.0 is _extra_block(240, 512)'s first 1x1 conv: 512 / 2 = 256 outputs; its input is the
    // last conv's 6 · 40 = 240 channels (reduced tail at width 0.5: _make_divisible(160 / 2 · 0.5, 8) = 40).
    expect([e.parameter, e.problem, e.expected, e.actual, e.code]).toEqual(['backbone.extra.0.0.0.weight', 'shape', [256, 240, 1, 1], [256, 100, 1, 1], 'SHAPE']);
    expect(Array.from(probe.dataSync())).toEqual(initial);
    model.dispose();
  });

  it('refuses unexpected entries unless strict is false, and reports them', () => {
    const model = small();
    const extra = edited((m) => m.set('head.extra_layer.weight', { dtype: 'F32', shape: [2], data: new Float32Array(2) }));
    const e = thrownStateDictError(() => model.loadStateDict(extra));
    expect([e.parameter, e.problem, e.actual]).toEqual(['head.extra_layer.weight', 'unexpected', [2]]);
    expect(model.loadStateDict(extra, { strict: false }).unexpected).toEqual(['head.extra_layer.weight']);
    model.dispose();
  });

  it('refuses a non-integer num_batches_tracked', () => {
    const model = small();
    const e = thrownStateDictError(() =>
      model.loadStateDict(edited((m) => m.set('backbone.features.0.0.1.num_batches_tracked', { dtype: 'F32', shape: [], data: new Float32Array(1) }))),
    );
    expect([e.parameter, e.problem]).toEqual(['backbone.features.0.0.1.num_batches_tracked', 'dtype']);
    model.dispose();
  });

  it('loads weights of another class count only with reinitialiseClassLayers, listing the kept layers', () => {
    const model = ssdlite320MobilenetV3Large({ numClasses: 3, widthMult: 0.5 });
    const e = thrownStateDictError(() => model.loadStateDict(weights.bytes));
    // Level 0's class conv: 6 default boxes x 3 classes = 18 outputs here, 6 x 4 = 24 in the file; 336 inputs.
    expect([e.parameter, e.expected, e.actual]).toEqual(['head.classification_head.module_list.0.1.weight', [18, 336, 1, 1], [24, 336, 1, 1]]);
    const report = model.loadStateDict(weights.bytes, { reinitialiseClassLayers: true });
    expect(report.reinitialised).toEqual([0, 1, 2, 3, 4, 5].flatMap((k) => [`head.classification_head.module_list.${k}.1.weight`, `head.classification_head.module_list.${k}.1.bias`]));
    expect(report.loaded.length).toBe(weights.file.tensors.size - 12);
    model.dispose();
  });
});

describe('trainableBackboneLayers', () => {
  beforeAll(() => setupBackend('cpu'));

  const frozenNames = (t: number) => {
    const model = ssdlite320MobilenetV3Large({ numClasses: 2, widthMult: 0.5, trainableBackboneLayers: t });
    const trainable = new Set(model.parameters.trainableVariables());
    const frozen = model.parameters.specs().filter((s) => s.kind === 'parameter' && !trainable.has(model.parameters.get(s.name))).map((s) => s.name);
    model.dispose();
    return frozen;
  };

  it('freezes the backbone stages torchvision freezes', () => {
    expect(frozenNames(6)).toEqual([]);
    // stage_indices = [0, 2, 4, 7, 13, 16]; 3 trainable stages freeze features[:stage_indices[6 - 3]] = [:7].
    const three = frozenNames(3);
    expect(three.some((n) => n.startsWith('backbone.features.0.6.'))).toBe(true);
    expect(three.some((n) => n.startsWith('backbone.features.0.7.'))).toBe(false);
    expect(three.every((n) => /^backbone\.features\.0\.[0-6]\./.test(n))).toBe(true);
    // 0 trainable stages freeze all of features (the extra layers and the head stay trainable).
    const zero = frozenNames(0);
    expect(zero.some((n) => n.startsWith('backbone.features.1.3.'))).toBe(true);
    expect(zero.some((n) => n.startsWith('backbone.extra.') || n.startsWith('head.'))).toBe(false);
  });
});
