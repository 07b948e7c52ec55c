import { assignWeights, InvalidArgumentError, saveWeights, type tf } from '@detkit/core';
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
 * Builds a detector of a registered kind from its saved configuration (see {@link registerDetectorKind}).
 * Receives the configuration as saved (`detector.config`) and {@link createDetector}'s options.
 */
export type DetectorFactory = (config: { kind: string } & Record<string, unknown>, options: CreateDetectorOptions) => Detector<{ kind: string }>;

const REGISTERED = new Map<string, DetectorFactory>();

/**
 * Teaches {@link createDetector} (and so {@link loadDetector}, `loadDetector` of an image folder and the
 * trainer's checkpoints) a detector kind made outside this package, e.g. @detkit/torchvision's
 * `'ssdlite320-mobilenet-v3-large'` (its `registerTorchvisionDetectors()` calls this). Registering a kind
 * again replaces its factory; `'ssd'` and `'faster-rcnn'` cannot be replaced.
 *
 * @throws InvalidArgumentError naming `kind` when it is empty or built in, `factory` when it is not a function.
 */
export function registerDetectorKind(kind: string, factory: DetectorFactory): void {
  const op = 'registerDetectorKind';
  if (typeof kind !== 'string' || kind.length === 0) throw new InvalidArgumentError(op, 'kind', 'must be a non-empty string');
  if (kind === 'ssd' || kind === 'faster-rcnn') throw new InvalidArgumentError(op, 'kind', `'${kind}' is built in and cannot be replaced`);
  if (typeof factory !== 'function') throw new InvalidArgumentError(op, 'factory', 'must be a function (config, options) => Detector');
  REGISTERED.set(kind, factory);
}

/** The detector kinds {@link createDetector} builds: the built-in ones, then the registered ones. */
export function detectorKinds(): string[] {
  return ['ssd', 'faster-rcnn', ...REGISTERED.keys()];
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
export function createDetector(config: { kind: string } & Record<string, unknown>, options?: CreateDetectorOptions): Detector<{ kind: string }>;
export function createDetector(config: DetectorConfig | { kind: string }, options: CreateDetectorOptions = {}): Ssd | FasterRcnn | Detector<{ kind: string }> {
  const op = 'createDetector';
  if (config === null || typeof config !== 'object') throw new InvalidArgumentError(op, 'config', 'must be a detector configuration object');
  const kind = (config as { kind?: unknown }).kind;
  if (kind !== 'ssd' && kind !== 'faster-rcnn') {
    const factory = typeof kind === 'string' ? REGISTERED.get(kind) : undefined;
    if (factory !== undefined) return factory(config as { kind: string } & Record<string, unknown>, options);
    throw new InvalidArgumentError(
      op,
      'config.kind',
      `must be one of ${detectorKinds().map((k) => `'${k}'`).join(', ')} (other kinds are registered by the package that makes them, e.g. @detkit/torchvision's registerTorchvisionDetectors()), got ${JSON.stringify(kind)}`,
    );
  }
  const builtIn = config as DetectorConfig;
  if (builtIn.backbone === 'custom' && options.backbone === undefined) {
    throw new InvalidArgumentError(op, 'options.backbone', 'is required: the configuration was made with a custom backbone');
  }
  const backbone = builtIn.backbone === 'custom' ? options.backbone : builtIn.backbone;
  const common = { seed: options.seed, name: options.name, backbone };
  if (builtIn.kind === 'ssd') {
    const { kind: _, ...fields } = builtIn;
    return createSsd({ ...fields, ...common });
  }
  const { kind: _, ...fields } = builtIn;
  return createFasterRcnn({ ...fields, ...common });
}

/**
 * Saves a detector through a tfjs IO handler (e.g. `tf.io.withSaveHandler(async (artifacts) => ...)`): one
 * float32 weight buffer with the variables under their stable keys, and `modelTopology` =
 * {@link DetectorTopology}, so {@link loadDetector} can rebuild the detector from the artifacts alone.
 */
export async function saveDetector(detector: Detector<DetectorConfig>, handler: tf.io.IOHandler): Promise<tf.io.SaveResult> {
  const modelTopology: DetectorTopology = { format: 'detkit-detector', version: DETECTOR_FORMAT_VERSION, config: detector.config };
  return saveWeights('saveDetector', 'handler', handler, detector.variables, { modelTopology, format: 'detkit-detector', generatedBy: '@detkit/models' });
}

/**
 * Assigns saved weights to a detector's variables with @detkit/core's `assignWeights`: every variable must be
 * present with its shape (a `ShapeError` or `InvalidArgumentError` names the first that is not); nothing is
 * assigned unless all match.
 */
export function assignDetectorWeights(detector: Detector, artifacts: tf.io.ModelArtifacts): void {
  assignWeights('assignDetectorWeights', 'artifacts', detector.variables, artifacts);
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
  // A registered kind (registerDetectorKind) is typed as the built-in union here, as the trainer and
  // loadDetector use only the Detector interface and `config.imageSize`, which every kind has.
  const detector = createDetector(config, options) as Ssd | FasterRcnn;
  try {
    assignDetectorWeights(detector, artifacts);
  } catch (e) {
    detector.dispose();
    throw e;
  }
  return detector;
}
