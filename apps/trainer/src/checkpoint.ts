/**
 * Checkpoints in tfjs format, written atomically: each epoch's files go to a temporary folder that is then
 * renamed to `checkpoints/epoch-NNNN`, so a crash (even kill -9) leaves either the whole checkpoint or none.
 *
 * A checkpoint folder holds `model.json` + `weights.bin` (tfjs's layout: topology, weightsManifest, one
 * weight file; the topology is @detkit/models' `{ format: 'detkit-detector', config }`), `optimizer.json` +
 * `optimizer.bin` (the optimizer's slots and step count) and `state.json` (epoch, step, RNG state, metrics
 * lines, configuration). tfjs-core has no Node file handler, so the files are written here through
 * `tf.io.withSaveHandler`.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, tf } from '@detkit/core';
import { optimizerState, restoreOptimizerState, saveDetector, type Detector, type DetectorConfig } from '@detkit/models';
import type { TrainConfig } from './config';

/** What a run needs, besides weights and optimizer slots, to continue exactly where it stopped. */
export interface RunState {
  version: 1;
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps completed. */
  step: number;
  /** The run's RNG state after `step` steps (@detkit/samplers' `SeededRng.state()`). */
  rng: number[];
  /** Lines of metrics.jsonl written up to this checkpoint (a resumed run cuts the file back to them). */
  metricsLines: number;
  /** Training seconds so far (evaluation excluded), over every session of the run. */
  trainSeconds: number;
  config: TrainConfig;
  classes: string[];
}

const CHECKPOINTS = 'checkpoints';
/** Checkpoints kept (older ones are removed). */
export const KEEP_CHECKPOINTS = 3;

function bufferOf(data: ArrayBuffer | ArrayBuffer[]): Buffer {
  return Buffer.concat((Array.isArray(data) ? data : [data]).map((b) => Buffer.from(b)));
}

/** Writes `model.json` + `weights.bin` for a detector into `dir` (which must exist). */
export async function writeModel(dir: string, detector: Detector<DetectorConfig>, classes: readonly string[]): Promise<void> {
  await saveDetector(
    detector,
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = bufferOf(artifacts.weightData ?? []);
      await writeFile(path.join(dir, 'weights.bin'), weights);
      const modelJson = {
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        userDefinedMetadata: { classes: [...classes] },
      };
      await writeFile(path.join(dir, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
}

/** Reads `model.json` + its weight files from `dir` as tfjs model artifacts, with the class names. */
export async function readModel(dir: string): Promise<{ artifacts: tf.io.ModelArtifacts; classes: string[] }> {
  const file = path.join(dir, 'model.json');
  let json: {
    modelTopology?: object;
    weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    format?: string;
    userDefinedMetadata?: { classes?: string[] };
  };
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (cause) {
    throw new InvalidArgumentError('readModel', 'model', `cannot read a tfjs model.json at ${file} (${(cause as Error).message})`);
  }
  const manifest = json.weightsManifest ?? [];
  const buffers = await Promise.all(manifest.flatMap((g) => g.paths.map((p) => readFile(path.join(dir, p)))));
  const whole = Buffer.concat(buffers);
  const weightData = whole.buffer.slice(whole.byteOffset, whole.byteOffset + whole.byteLength) as ArrayBuffer;
  return {
    artifacts: { modelTopology: json.modelTopology, weightSpecs: manifest.flatMap((g) => g.weights), weightData, format: json.format },
    classes: json.userDefinedMetadata?.classes ?? [],
  };
}

/** Writes a checkpoint of the run atomically; returns its folder. Older checkpoints beyond {@link KEEP_CHECKPOINTS} are removed. */
export async function writeCheckpoint(out: string, detector: Detector<DetectorConfig>, optimizer: tf.Optimizer, state: RunState): Promise<string> {
  const root = path.join(out, CHECKPOINTS);
  const name = `epoch-${String(state.epoch).padStart(4, '0')}`;
  const tmp = path.join(root, `.tmp-${name}-${process.pid}`);
  const final = path.join(root, name);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await writeModel(tmp, detector, state.classes);
  const saved = await optimizerState(optimizer);
  try {
    const { data, specs } = await tf.io.encodeWeights(saved);
    await writeFile(path.join(tmp, 'optimizer.bin'), bufferOf(data));
    await writeFile(path.join(tmp, 'optimizer.json'), JSON.stringify({ weightSpecs: specs }));
  } finally {
    tf.dispose(saved.map((s) => s.tensor));
  }
  await writeFile(path.join(tmp, 'state.json'), JSON.stringify(state, null, 2));
  await rm(final, { recursive: true, force: true });
  await rename(tmp, final);
  const all = await listCheckpoints(out);
  await Promise.all(all.slice(0, Math.max(0, all.length - KEEP_CHECKPOINTS)).map((dir) => rm(dir, { recursive: true, force: true })));
  return final;
}

/** Complete checkpoint folders of a run, oldest first. */
export async function listCheckpoints(out: string): Promise<string[]> {
  const root = path.join(out, CHECKPOINTS);
  const names = await readdir(root).catch(() => [] as string[]);
  return names
    .filter((n) => /^epoch-\d+$/.test(n))
    .sort()
    .map((n) => path.join(root, n));
}

/** The newest checkpoint folder of a run, or null. */
export async function latestCheckpoint(out: string): Promise<string | null> {
  const all = await listCheckpoints(out);
  return all[all.length - 1] ?? null;
}

/** Reads a checkpoint's run state. */
export async function readState(dir: string): Promise<RunState> {
  return JSON.parse(await readFile(path.join(dir, 'state.json'), 'utf8')) as RunState;
}

/** Restores a checkpoint's optimizer state into `optimizer` (same variables, same order). */
export async function restoreOptimizer(dir: string, optimizer: tf.Optimizer): Promise<void> {
  const { weightSpecs } = JSON.parse(await readFile(path.join(dir, 'optimizer.json'), 'utf8')) as { weightSpecs: tf.io.WeightsManifestEntry[] };
  const bin = await readFile(path.join(dir, 'optimizer.bin'));
  const decoded = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer, weightSpecs);
  try {
    await restoreOptimizerState(
      optimizer,
      weightSpecs.map((s) => ({ name: s.name, tensor: decoded[s.name]! })),
    );
  } finally {
    tf.dispose(Object.values(decoded));
  }
}
