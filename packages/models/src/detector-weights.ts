import { InvalidArgumentError, ShapeError, tf } from '@detkit/core';
import type { Backbone } from './backbone';
import type { Detector } from './detector';
import { createFasterRcnn, type FasterRcnn, type FasterRcnnConfig } from './faster-rcnn';
import { DETECTOR_FORMAT_VERSION, detectorFormatVersion } from './format-version';
import { createSsd, type Ssd, type SsdConfig } from './ssd';

/** The configuration of any detkit detector. */
export type DetectorConfig = SsdConfig | FasterRcnnConfig;

/** The `modelTopology` detkit writes next to a detector's weights (the `model.json` of a checkpoint). */
export interface DetectorTopology {
  format: 'detkit-detector';
  /** The format version ({@link DETECTOR_FORMAT_VERSION}); absent in files saved before it existed (read as 1). */
  version?: number;
  config: DetectorConfig;
}

/** Options of {@link createDetector} and {@link loadDetector}. */
export interface CreateDetectorOptions {
  /** The backbone, required when the configuration says `backbone: 'custom'`. */
  backbone?: Backbone;
  /** Seed of the weight initialisation (irrelevant when weights are loaded). */
  seed?: number;
  /** Prefix of the variables' tfjs names. */
  name?: string;
}

/**
 * Builds a detector from its serialisable configuration (`detector.config`, or the `config` of a saved
 * checkpoint's topology): the same architecture and recipe, fresh weights. Configurations saved before the
 * typed recipe (flat `anchorSizes`, `rpnBatchSize`, `negPosRatio`, ...) are read with the constants they
 * were trained with.
 */
export function createDetector(config: SsdConfig, options?: CreateDetectorOptions): Ssd;
export function createDetector(config: FasterRcnnConfig, options?: CreateDetectorOptions): FasterRcnn;
export function createDetector(config: DetectorConfig, options?: CreateDetectorOptions): Ssd | FasterRcnn;
export function createDetector(config: DetectorConfig, options: CreateDetectorOptions = {}): Ssd | FasterRcnn {
  const op = 'createDetector';
  if (config === null || typeof config !== 'object') throw new InvalidArgumentError(op, 'config', 'must be a detector configuration object');
  if (config.backbone === 'custom' && options.backbone === undefined) {
    throw new InvalidArgumentError(op, 'options.backbone', 'is required: the configuration was made with a custom backbone');
  }
  const backbone = config.backbone === 'custom' ? options.backbone : config.backbone;
  const common = { seed: options.seed, name: options.name, backbone };
  if (config.kind === 'ssd') {
    const { kind: _, ...fields } = config;
    return createSsd({ ...fields, ...common });
  }
  if (config.kind === 'faster-rcnn') {
    const { kind: _, ...fields } = config;
    return createFasterRcnn({ ...fields, ...common });
  }
  throw new InvalidArgumentError(op, 'config.kind', `must be 'ssd' or 'faster-rcnn', got ${JSON.stringify((config as { kind?: unknown }).kind)}`);
}

/**
 * Saves a detector through a tfjs IO handler (e.g. `tf.io.withSaveHandler(async (artifacts) => ...)`): one
 * float32 weight buffer with the variables under their stable keys, and `modelTopology` =
 * {@link DetectorTopology}, so {@link loadDetector} can rebuild the detector from the artifacts alone.
 */
export async function saveDetector(detector: Detector<DetectorConfig>, handler: tf.io.IOHandler): Promise<tf.io.SaveResult> {
  if (handler === null || typeof handler !== 'object' || typeof handler.save !== 'function') {
    throw new InvalidArgumentError('saveDetector', 'handler', 'must be a tf.io IOHandler with save()');
  }
  const { data, specs } = await tf.io.encodeWeights(detector.variables as Record<string, tf.Tensor>);
  const topology: DetectorTopology = { format: 'detkit-detector', version: DETECTOR_FORMAT_VERSION, config: detector.config };
  return handler.save({
    modelTopology: topology as unknown as object,
    weightSpecs: specs,
    weightData: data,
    format: 'detkit-detector',
    generatedBy: '@detkit/models',
    convertedBy: null,
  });
}

/**
 * Assigns saved weights to a detector's variables. Every variable must be present with its shape (a
 * `ShapeError` or `InvalidArgumentError` names the first that is not); nothing is assigned unless all match.
 */
export function assignDetectorWeights(detector: Detector, artifacts: tf.io.ModelArtifacts): void {
  const op = 'assignDetectorWeights';
  if (!artifacts.weightSpecs || artifacts.weightData === undefined) throw new InvalidArgumentError(op, 'artifacts', 'hold no weights');
  const decoded = tf.io.decodeWeights(artifacts.weightData, artifacts.weightSpecs);
  try {
    for (const [key, variable] of Object.entries(detector.variables)) {
      const value = decoded[key];
      if (value === undefined) throw new InvalidArgumentError(op, 'artifacts', `have no weight '${key}'`);
      if (!tf.util.arraysEqual(value.shape, variable.shape)) throw new ShapeError(op, key, `[${variable.shape.join(', ')}]`, value.shape);
    }
    for (const [key, variable] of Object.entries(detector.variables)) variable.assign(decoded[key]!);
  } finally {
    tf.dispose(Object.values(decoded));
  }
}

/**
 * Reads the {@link DetectorTopology} of saved artifacts, or throws naming what is wrong (an
 * `UnsupportedFormatVersionError` for a newer or unknown format version).
 */
export function detectorTopology(artifacts: tf.io.ModelArtifacts): DetectorTopology {
  const topology = artifacts.modelTopology as Partial<DetectorTopology> | undefined;
  if (!topology || typeof topology !== 'object' || topology.format !== 'detkit-detector' || !topology.config) {
    throw new InvalidArgumentError('loadDetector', 'source', "does not hold a detkit detector (modelTopology.format is not 'detkit-detector')");
  }
  detectorFormatVersion('loadDetector', topology);
  return topology as DetectorTopology;
}

/**
 * Loads a detector saved by {@link saveDetector}: rebuilds it from the saved configuration and assigns the
 * weights.
 *
 * @param source - A tfjs IO handler with `load()` (e.g. `tf.io.fromMemory(artifacts)`) or the artifacts.
 */
export async function loadDetector(source: tf.io.IOHandler | tf.io.ModelArtifacts, options: CreateDetectorOptions = {}): Promise<Ssd | FasterRcnn> {
  const artifacts = typeof (source as tf.io.IOHandler).load === 'function' ? await (source as tf.io.IOHandler).load!() : (source as tf.io.ModelArtifacts);
  const { config } = detectorTopology(artifacts);
  const detector = createDetector(config, options);
  try {
    assignDetectorWeights(detector, artifacts);
  } catch (e) {
    detector.dispose();
    throw e;
  }
  return detector;
}
