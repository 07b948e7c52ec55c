import { InvalidArgumentError, tf } from '@detkit/core';
import { StateDictError } from './errors';
import { readSafetensors, safetensorsToBigInt64, safetensorsToFloat32, writeSafetensors, type SafetensorsFile, type SafetensorsInput } from './safetensors';

/**
 * How a torchvision tensor is laid out in tfjs (NHWC):
 * - `conv`: torch `[out, in, kh, kw]` ↔ tfjs `[kh, kw, in, out]` (`tf.conv2d`'s filter).
 * - `depthwise`: torch `[C, 1, kh, kw]` (groups = C) ↔ tfjs `[kh, kw, C, 1]` (`tf.depthwiseConv2d`'s filter).
 * - `linear`: torch `[out, in]` ↔ tfjs `[in, out]` (`tf.matMul(x, w)`).
 * - `plain`: the same in both (biases, batch-norm vectors).
 */
export type ParamLayout = 'conv' | 'depthwise' | 'linear' | 'plain';

/** One float32 parameter or buffer of a model, under its torchvision name. */
export interface ParamSpec {
  /** torchvision's `state_dict` key, e.g. `backbone.features.0.0.0.weight`. */
  readonly name: string;
  /** Shape in torch's layout (NCHW). */
  readonly torchShape: readonly number[];
  readonly layout: ParamLayout;
  /** `parameter` (trained) or `buffer` (a batch norm's running statistics: never trained). */
  readonly kind: 'parameter' | 'buffer';
  /** Its shape depends on the class count (a classifier's last layer): see {@link LoadStateDictOptions}. */
  readonly classDependent?: boolean;
}

/** Options of {@link TorchParameters.loadStateDict}. */
export interface LoadStateDictOptions {
  /**
   * Refuse entries the model does not have, as torch's `load_state_dict(strict=True)` does. Missing entries
   * are always an error. Default true.
   */
  strict?: boolean;
  /**
   * Keep the freshly initialised values of class-dependent parameters whose shape differs (weights trained
   * for another class count, e.g. COCO's 91), instead of throwing; they are listed in the report. Default false.
   */
  reinitialiseClassLayers?: boolean;
}

/** What {@link TorchParameters.loadStateDict} did. */
export interface LoadStateDictReport {
  /** Parameters and buffers loaded from the file. */
  loaded: string[];
  /** Class-dependent parameters kept at their initial values (shape mismatch, `reinitialiseClassLayers`). */
  reinitialised: string[];
  /** Entries of the file the model has no use for (only with `strict: false`). */
  unexpected: string[];
}

type Entry = { spec: ParamSpec; variable: tf.Variable } | { counter: string; value: bigint };

const TO_TF: Record<ParamLayout, number[] | null> = { conv: [2, 3, 1, 0], depthwise: [2, 3, 0, 1], linear: [1, 0], plain: null };
const TO_TORCH: Record<ParamLayout, number[] | null> = { conv: [3, 2, 0, 1], depthwise: [2, 3, 0, 1], linear: [1, 0], plain: null };

function tfShape(spec: ParamSpec): number[] {
  const perm = TO_TF[spec.layout];
  return perm ? perm.map((p) => spec.torchShape[p] as number) : [...spec.torchShape];
}

function sameShape(a: readonly number[], b: readonly number[]) {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * A model's parameters and buffers under torchvision's names, in `state_dict` order, stored as tfjs
 * variables in the NHWC layout; the bridge to and from torchvision's safetensors state dicts. Batch norms'
 * `num_batches_tracked` (int64) are kept as numbers and written back unchanged.
 */
export class TorchParameters {
  private readonly entries = new Map<string, Entry>();
  /** Entries a file may hold that loading skips (FrozenBatchNorm2d's `num_batches_tracked`). */
  private readonly ignored = new Set<string>();
  /** Current name → the name older torchvision versions saved it under. */
  private readonly legacy = new Map<string, string>();
  private disposed = false;

  /**
   * Registers a float32 parameter or buffer; `init` gives its initial value in the tfjs layout (owned by
   * the store afterwards).
   * @returns Its variable (tfjs layout), trainable when `kind` is `parameter` and `trainable` is true.
   */
  add(spec: ParamSpec, init: tf.Tensor, trainable = true): tf.Variable {
    if (this.entries.has(spec.name)) throw new InvalidArgumentError('TorchParameters.add', 'spec.name', `'${spec.name}' is registered already`);
    const shape = tfShape(spec);
    if (!sameShape(init.shape, shape)) throw new InvalidArgumentError('TorchParameters.add', 'init', `for '${spec.name}' must have shape [${shape.join(', ')}], got [${init.shape.join(', ')}]`);
    const variable = tf.variable(init, spec.kind === 'parameter' && trainable);
    init.dispose();
    this.entries.set(spec.name, { spec, variable });
    return variable;
  }

  /** Registers an int64 counter (`num_batches_tracked`), initially 0. */
  addCounter(name: string): void {
    this.entries.set(name, { counter: name, value: 0n });
  }

  /** Adds 1 to a counter registered with {@link TorchParameters.addCounter} (a batch norm's training forward). */
  incrementCounter(name: string): void {
    const e = this.entries.get(name);
    if (e === undefined || !('counter' in e)) throw new InvalidArgumentError('TorchParameters.incrementCounter', 'name', `'${name}' is not a registered counter`);
    e.value += 1n;
  }

  /**
   * A name a state dict may contain that this model has no entry for and that loading skips silently, as
   * torchvision's `FrozenBatchNorm2d` drops `num_batches_tracked`.
   */
  ignoreOnLoad(name: string): void {
    this.ignored.add(name);
  }

  /**
   * The name an older torchvision saved a registered entry under (state dicts of module `_version` 1, e.g.
   * `backbone.fpn.inner_blocks.0.weight` for `backbone.fpn.inner_blocks.0.0.weight`), read when the
   * current name is absent, as torchvision's `_load_from_state_dict` renames it.
   */
  addLegacyName(name: string, legacyName: string): void {
    this.legacy.set(name, legacyName);
  }

  /** The variable of a registered parameter or buffer (tfjs layout). */
  get(name: string): tf.Variable {
    const e = this.entries.get(name);
    if (e === undefined || !('variable' in e)) throw new InvalidArgumentError('TorchParameters.get', 'name', `'${name}' is not a parameter of this model`);
    return e.variable;
  }

  /** Every name of the state dict, in torchvision's order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /** The specs of the float parameters and buffers, in order. */
  specs(): ParamSpec[] {
    return [...this.entries.values()].flatMap((e) => ('spec' in e ? [e.spec] : []));
  }

  /** The trainable variables (what an optimizer updates). */
  trainableVariables(): tf.Variable[] {
    return [...this.entries.values()].flatMap((e) => ('variable' in e && e.variable.trainable ? [e.variable] : []));
  }

  /** Marks parameters (not buffers) whose name passes `test` trainable or frozen. */
  setTrainable(test: (name: string) => boolean, trainable: boolean): void {
    for (const e of this.entries.values()) {
      if ('spec' in e && e.spec.kind === 'parameter' && test(e.spec.name)) e.variable.trainable = trainable;
    }
  }

  /**
   * Loads a torchvision state dict saved as safetensors (`scripts/pth_to_safetensors.py`, or
   * `safetensors.torch.save_file(model.state_dict(), path)`). Convolution weights are transposed from NCHW
   * to NHWC; F16, BF16 and F64 values are converted to float32. Nothing is assigned unless every entry fits.
   *
   * @param source - The file's bytes or a parsed {@link SafetensorsFile}.
   * @throws StateDictError naming the parameter, with expected and actual shapes (torch layout), for a
   *   missing entry, a shape mismatch, an unexpected entry (strict) or a non-numeric dtype.
   */
  loadStateDict(source: Uint8Array | SafetensorsFile, options: LoadStateDictOptions = {}): LoadStateDictReport {
    const op = 'loadStateDict';
    this.checkAlive(op);
    const file = source instanceof Uint8Array ? readSafetensors(source) : source;
    const strict = options.strict ?? true;
    const report: LoadStateDictReport = { loaded: [], reinitialised: [], unexpected: [] };
    const plan: [Entry, Float32Array | bigint][] = [];
    const used = new Set<string>();
    for (const [name, e] of this.entries) {
      const old = this.legacy.get(name);
      const key = !file.tensors.has(name) && old !== undefined && file.tensors.has(old) ? old : name;
      used.add(key);
      const t = file.tensors.get(key);
      const expected = 'spec' in e ? e.spec.torchShape : [];
      if (t === undefined) throw new StateDictError(op, name, 'missing', expected, null);
      if ('counter' in e) {
        if (t.dtype !== 'I64' || t.shape.length !== 0) throw new StateDictError(op, name, t.dtype !== 'I64' ? 'dtype' : 'shape', [], t.shape, `${t.dtype}, expected I64`);
        plan.push([e, safetensorsToBigInt64(t, name)[0] as bigint]);
        continue;
      }
      if (!sameShape(t.shape, expected)) {
        if (e.spec.classDependent && options.reinitialiseClassLayers) {
          report.reinitialised.push(name);
          continue;
        }
        throw new StateDictError(op, name, 'shape', expected, t.shape);
      }
      if (t.dtype === 'BOOL') throw new StateDictError(op, name, 'dtype', expected, t.shape, 'BOOL, expected a float type');
      plan.push([e, safetensorsToFloat32(t, name)]);
    }
    for (const name of file.tensors.keys()) {
      if (!used.has(name) && !this.ignored.has(name)) {
        if (strict) throw new StateDictError(op, name, 'unexpected', null, file.tensors.get(name)!.shape);
        report.unexpected.push(name);
      }
    }
    for (const [e, value] of plan) {
      if ('counter' in e) {
        e.value = value as bigint;
        report.loaded.push(e.counter);
        continue;
      }
      const perm = TO_TF[e.spec.layout];
      tf.tidy(() => {
        const torch = tf.tensor(value as Float32Array, [...e.spec.torchShape], 'float32');
        e.variable.assign(perm ? tf.transpose(torch, perm) : torch);
      });
      report.loaded.push(e.spec.name);
    }
    return report;
  }

  /**
   * The state dict as safetensors, in torchvision's names, order and layout (NCHW), float32 and int64
   * exactly as torch's `state_dict()` has them: `load_state_dict(strict=True)` takes it, and a loaded file
   * is written back bit for bit.
   */
  saveStateDict(metadata: Readonly<Record<string, string>> = {}): Uint8Array {
    this.checkAlive('saveStateDict');
    const out = new Map<string, SafetensorsInput>();
    for (const [name, e] of this.entries) {
      if ('counter' in e) {
        out.set(name, { dtype: 'I64', shape: [], data: new BigInt64Array([e.value]) });
        continue;
      }
      const perm = TO_TORCH[e.spec.layout];
      const torch = perm ? tf.transpose(e.variable, perm) : null;
      const data = Float32Array.from((torch ?? e.variable).dataSync() as Float32Array);
      torch?.dispose();
      out.set(name, { dtype: 'F32', shape: e.spec.torchShape, data });
    }
    return writeSafetensors(out, { format: 'pt', ...metadata });
  }

  /** Disposes every variable; the store is unusable afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const e of this.entries.values()) if ('variable' in e) e.variable.dispose();
  }

  private checkAlive(op: string) {
    if (this.disposed) throw new InvalidArgumentError(op, 'this', 'the model was disposed');
  }
}
