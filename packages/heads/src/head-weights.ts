import { assignWeights, InvalidArgumentError, saveWeights, tf } from '@detkit/core';

/**
 * What every detkit head has: its weights as named, trainable `tf.Variable`s, and saving and loading
 * them through `tf.io`.
 */
export interface HeadWeights {
  /** Which head this is (`'rpn'`, `'box'`, `'ssd'`); stored with saved weights and checked on load. */
  readonly kind: string;
  /** The head's name: every variable is registered in tfjs as `${name}/${key}`. */
  readonly name: string;
  /**
   * The variables by key (e.g. `conv/kernel`, `conv/bias`), in tfjs layouts: conv kernels
   * `[kh, kw, in, out]`, dense kernels `[in, out]`. Each key's TSDoc names the torchvision parameter it
   * corresponds to. Pass `Object.values(head.variables)` to an optimizer's `minimize` as `varList`.
   */
  readonly variables: Readonly<Record<string, tf.Variable>>;
  /**
   * Saves the weights through a tfjs IO handler (`tf.io.withSaveHandler(...)`) or URL scheme
   * (`'indexeddb://...'`, `'downloads://...'`, `'file://...'` with tfjs-node). Weight names in the
   * artifacts are the keys, so weights saved from one head load into another of the same shape whatever
   * its name. See {@link saveHeadWeights}.
   */
  save(destination: tf.io.IOHandler | string): Promise<tf.io.SaveResult>;
  /** Loads weights saved by {@link HeadWeights.save} into the variables. See {@link loadHeadWeights}. */
  load(source: tf.io.IOHandler | string): Promise<void>;
  /** Disposes the variables (and frees their names). The head is unusable afterwards. */
  dispose(): void;
}

/** The `modelTopology` detkit writes next to a head's weights. */
interface HeadTopology {
  format: 'detkit-head';
  kind: string;
  config: Record<string, unknown>;
}

function handlerFor(op: string, argument: string, target: tf.io.IOHandler | string, save: boolean): tf.io.IOHandler {
  if (typeof target === 'string') {
    const handlers = save ? tf.io.getSaveHandlers(target) : tf.io.getLoadHandlers(target);
    if (handlers.length !== 1) {
      throw new InvalidArgumentError(op, argument, `URL '${target}' matches ${handlers.length} tf.io ${save ? 'save' : 'load'} handlers; expected exactly one`);
    }
    return handlers[0] as tf.io.IOHandler;
  }
  if (target === null || typeof target !== 'object') throw new InvalidArgumentError(op, argument, 'must be a tf.io IOHandler or a URL string');
  return target;
}

/**
 * Saves a head's weights through `tf.io`: artifacts with `weightSpecs` named by the variables' keys,
 * one `weightData` buffer (float32), and a `modelTopology` of `{ format: 'detkit-head', kind, config }`.
 *
 * @param head - Any detkit head.
 * @param destination - A `tf.io.IOHandler` with `save` (e.g. `tf.io.withSaveHandler(async (a) => ...)`) or a
 *   URL string that `tf.io.getSaveHandlers` resolves.
 */
export async function saveHeadWeights(head: HeadWeights & { readonly config?: object }, destination: tf.io.IOHandler | string): Promise<tf.io.SaveResult> {
  const op = 'saveHeadWeights';
  const handler = handlerFor(op, 'destination', destination, true);
  if (typeof handler.save !== 'function') throw new InvalidArgumentError(op, 'destination', 'has no save() method');
  const modelTopology: HeadTopology = { format: 'detkit-head', kind: head.kind, config: { ...(head.config ?? {}) } };
  return saveWeights(op, 'destination', handler, head.variables, { modelTopology, format: 'detkit-head', generatedBy: '@detkit/heads' });
}

/**
 * Loads weights saved by {@link saveHeadWeights} into a head's variables (`variable.assign`). Every
 * variable must be present with its exact shape: a missing weight or a different head kind is an
 * `InvalidArgumentError`, a shape mismatch a `ShapeError` naming the weight. Extra weights are ignored.
 * Nothing is assigned unless everything matches.
 *
 * @param head - The head to load into.
 * @param source - A `tf.io.IOHandler` with `load` (e.g. `tf.io.fromMemory(artifacts)`) or a URL string
 *   that `tf.io.getLoadHandlers` resolves.
 */
export async function loadHeadWeights(head: HeadWeights, source: tf.io.IOHandler | string): Promise<void> {
  const op = 'loadHeadWeights';
  const handler = handlerFor(op, 'source', source, false);
  if (typeof handler.load !== 'function') throw new InvalidArgumentError(op, 'source', 'has no load() method');
  const artifacts = await handler.load();
  const topology = artifacts.modelTopology as Partial<HeadTopology> | undefined;
  if (topology && typeof topology === 'object' && topology.format === 'detkit-head' && topology.kind !== head.kind) {
    throw new InvalidArgumentError(op, 'source', `holds the weights of a '${String(topology.kind)}' head, not a '${head.kind}' head`);
  }
  assignWeights(op, 'source', head.variables, artifacts);
}
