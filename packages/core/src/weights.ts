import { InvalidArgumentError, ShapeError } from './errors';
import { tf } from './tf';

/**
 * Assigns saved weights to variables, all or nothing (as Keras' `set_weights` and PyTorch's
 * `load_state_dict(strict=True)` check before copying): every variable must have a weight of its key in
 * `artifacts`, with its shape and dtype float32; the first that does not is an `InvalidArgumentError`
 * (missing, wrong dtype) or a `ShapeError` naming the weight, and then nothing is assigned. Weights that
 * no variable takes are ignored. The decoded tensors are disposed.
 *
 * @param op - The public function loading the weights, for error messages.
 * @param argument - Its argument that holds them (e.g. `'source'`), for error messages.
 * @param variables - The variables to fill, by weight name.
 * @param artifacts - tfjs model artifacts with `weightSpecs` and `weightData` (from an IO handler's `load()`).
 */
export function assignWeights(op: string, argument: string, variables: Readonly<Record<string, tf.Variable>>, artifacts: tf.io.ModelArtifacts): void {
  if (!artifacts.weightSpecs || artifacts.weightData === undefined) throw new InvalidArgumentError(op, argument, 'holds no weights');
  const decoded = tf.io.decodeWeights(artifacts.weightData, artifacts.weightSpecs);
  try {
    for (const [key, variable] of Object.entries(variables)) {
      const value = decoded[key];
      if (value === undefined) throw new InvalidArgumentError(op, argument, `holds no weight '${key}'`);
      if (!tf.util.arraysEqual(value.shape, variable.shape)) throw new ShapeError(op, key, `[${variable.shape.join(', ')}]`, value.shape);
      if (value.dtype !== 'float32') throw new InvalidArgumentError(op, argument, `weight '${key}' has dtype ${value.dtype}, expected float32`);
    }
    for (const [key, variable] of Object.entries(variables)) variable.assign(decoded[key]!);
  } finally {
    tf.dispose(Object.values(decoded));
  }
}

/** What {@link saveWeights} stores beside the weights. */
export interface SaveWeightsOptions {
  /** The artifacts' `modelTopology`: what a loader needs to rebuild or check the model. */
  modelTopology: object;
  /** The artifacts' `format` (e.g. `'detkit-head'`). */
  format: string;
  /** The artifacts' `generatedBy` (the saving package, e.g. `'@detkit/heads'`). */
  generatedBy: string;
}

/**
 * Saves variables through a tfjs IO handler, the save side of {@link assignWeights}: artifacts with one
 * float32 `weightData` buffer, `weightSpecs` named by the variables' keys (so they load into variables of
 * the same keys whatever their tfjs names), and `modelTopology`, `format` and `generatedBy` as given.
 *
 * @param op - The public function saving the weights, for error messages.
 * @param argument - Its argument that holds the handler (e.g. `'destination'`), for error messages.
 * @param handler - A tfjs IO handler with `save` (e.g. `tf.io.withSaveHandler(async (artifacts) => ...)`);
 *   without one it is an `InvalidArgumentError`.
 * @param variables - The variables to save, by weight name.
 * @param options - The topology and labels stored with them.
 * @returns What the handler's `save` returns.
 */
export async function saveWeights(
  op: string,
  argument: string,
  handler: tf.io.IOHandler,
  variables: Readonly<Record<string, tf.Variable>>,
  options: SaveWeightsOptions,
): Promise<tf.io.SaveResult> {
  if (handler === null || typeof handler !== 'object' || typeof handler.save !== 'function') {
    throw new InvalidArgumentError(op, argument, 'must be a tf.io IOHandler with save()');
  }
  const { data, specs } = await tf.io.encodeWeights(variables as Record<string, tf.Tensor>);
  return handler.save({
    modelTopology: options.modelTopology,
    weightSpecs: specs,
    weightData: data,
    format: options.format,
    generatedBy: options.generatedBy,
    convertedBy: null,
  });
}
