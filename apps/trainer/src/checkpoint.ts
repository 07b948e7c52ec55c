/**
 * Checkpoints and the final model in tfjs format, written atomically and verified when read.
 *
 * A checkpoint folder `checkpoints/epoch-NNNN/` holds `model.json` + `weights.bin` (tfjs's layout: topology,
 * weightsManifest, one weight file; the topology is @detkit/models' `{ format: 'detkit-detector', config }`),
 * `optimizer.json` + `optimizer.bin` (the optimizer's slots and step count), `state.json` (run id, epoch,
 * step, RNG state, metrics lines, configuration) and, written last, `manifest.json`: the run id, epoch and
 * step, and the size and sha256 of every other file. `model/` holds `model.json`, `weights.bin` and its own
 * `manifest.json`.
 *
 * Writing: every file goes, fsynced, into a temporary folder `.tmp-<name>-<pid>` that is then renamed into
 * place, so a crash (even kill -9, or a full disk) leaves either the whole folder or none; a temporary
 * folder left by a killed process is removed by the next run ({@link removeStaleTemporaries}).
 *
 * Reading: {@link readCheckpoint} and {@link readModel} check each file against the manifest (missing,
 * truncated or altered files), then parse it, check the weight files' sizes against their manifests and
 * that every float weight is finite. Any problem is a {@link CheckpointError} naming the file (and the
 * tensor, for non-finite weights), never a tfjs shape error or a SyntaxError. Checkpoints are ordered by
 * the step count their manifest records, never by folder name.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { tf } from '@detkit/core';
import { assignDetectorWeights, optimizerState, restoreOptimizerState, saveDetector, type Detector, type DetectorConfig } from '@detkit/models';
import type { TrainConfig } from './config';
import { CheckpointError, OutputWriteError } from './errors';

/** What a run needs, besides weights and optimizer slots, to continue exactly where it stopped. */
export interface RunState {
  /**
   * 3: the RNG state is @detkit/core's generator (one word). Version 2 (sfc32, four words) and 1 (no
   * manifest) are not read: their sampling streams cannot be continued.
   */
  version: 3;
  /** The run this checkpoint belongs to (the `runId` of the output folder's run.json). */
  runId: string;
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps completed. */
  step: number;
  /** The run's RNG state after `step` steps (@detkit/core's `SeededRandom.state()`: one uint32 word). */
  rng: number[];
  /** Lines of metrics.jsonl written up to this checkpoint (a resumed run cuts the file back to them). */
  metricsLines: number;
  /** Training seconds so far (evaluation excluded), over every session of the run. */
  trainSeconds: number;
  config: TrainConfig;
  classes: string[];
  /** The data set's category id of each label (COCO data); absent otherwise. */
  categoryIds?: number[] | null;
}

/** The size and sha256 (hex) of one file of a checkpoint or model folder. */
export interface FileDigest {
  bytes: number;
  sha256: string;
}

/** `manifest.json` of a checkpoint or model folder, written after every other file of it. */
export interface FolderManifest {
  format: 'detkit-checkpoint' | 'detkit-model';
  version: 1;
  runId: string;
  /** Epochs completed when it was written. */
  epoch: number;
  /** Optimizer steps completed when it was written: the order of a run's checkpoints. */
  step: number;
  /** Every other file of the folder. */
  files: Record<string, FileDigest>;
}

/** Where a write is, for {@link WriteProbe}: which folder, and the file just written. */
export interface WriteEvent {
  stage: 'checkpoint' | 'model';
  /** The folder being written (its final name; the files go to a temporary folder beside it first). */
  dir: string;
  /** The file just written (fsynced), `manifest.json` last. */
  file: string;
}

/** Called after each file of a checkpoint or model folder is written: tests stop a run there. */
export type WriteProbe = (event: WriteEvent) => void | Promise<void>;

/** Folder of the checkpoints inside a run's output folder. */
export const CHECKPOINTS = 'checkpoints';
/** The manifest file of a checkpoint or model folder. */
export const MANIFEST = 'manifest.json';
/** Checkpoints of a run kept (older ones are removed). */
export const KEEP_CHECKPOINTS = 3;
/** Name prefix of the temporary folders of an unfinished write. */
export const TMP_PREFIX = '.tmp-';

const CHECKPOINT_NAME = /^epoch-\d+$/;

function bufferOf(data: ArrayBuffer | ArrayBuffer[]): Buffer {
  return Buffer.concat((Array.isArray(data) ? data : [data]).map((b) => Buffer.from(b)));
}

function arrayBufferOf(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

/** Writes a file and fsyncs it; a failure (ENOSPC) is an {@link OutputWriteError} naming the file. */
async function writeSynced(file: string, data: Uint8Array | string): Promise<void> {
  try {
    const handle = await open(file, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (cause) {
    throw new OutputWriteError(file, cause);
  }
}

/**
 * The files of a detector in tfjs format: `weights.bin` and `model.json` (with the class names and, for COCO
 * data, the data set's category id of each label, so outputs give the data set's own ids back).
 */
async function modelFiles(detector: Detector<DetectorConfig>, classes: readonly string[], categoryIds?: readonly number[] | null): Promise<[string, Buffer][]> {
  let files: [string, Buffer][] = [];
  await saveDetector(
    detector,
    tf.io.withSaveHandler(async (artifacts) => {
      const modelJson = {
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        userDefinedMetadata: { classes: [...classes], ...(categoryIds ? { categoryIds: [...categoryIds] } : {}) },
      };
      files = [
        ['weights.bin', bufferOf(artifacts.weightData ?? [])],
        ['model.json', Buffer.from(JSON.stringify(modelJson))],
      ];
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  return files;
}

/**
 * Writes `files` and a manifest into `parent/name` atomically: a temporary folder beside it, then a rename
 * (an existing `name` is moved aside first and removed after). On failure the temporary folder is removed
 * and the previous `name`, if any, is kept.
 */
async function writeFolder(
  parent: string,
  name: string,
  files: readonly [string, Buffer][],
  meta: Omit<FolderManifest, 'files' | 'version'>,
  probe: WriteProbe | undefined,
): Promise<string> {
  const tmp = path.join(parent, `${TMP_PREFIX}${name}-${process.pid}`);
  const old = path.join(parent, `${TMP_PREFIX}old-${name}-${process.pid}`);
  const final = path.join(parent, name);
  const stage = meta.format === 'detkit-model' ? 'model' : 'checkpoint';
  try {
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
  } catch (cause) {
    throw new OutputWriteError(tmp, cause);
  }
  try {
    const digests: Record<string, FileDigest> = {};
    for (const [file, data] of files) {
      await writeSynced(path.join(tmp, file), data);
      digests[file] = { bytes: data.length, sha256: sha256(data) };
      await probe?.({ stage, dir: final, file });
    }
    const manifest: FolderManifest = { ...meta, version: 1, files: digests };
    await writeSynced(path.join(tmp, MANIFEST), JSON.stringify(manifest, null, 2));
    await probe?.({ stage, dir: final, file: MANIFEST });
    try {
      if (existsSync(final)) {
        await rm(old, { recursive: true, force: true });
        await rename(final, old);
        await rename(tmp, final);
        await rm(old, { recursive: true, force: true });
      } else {
        await rename(tmp, final);
      }
    } catch (cause) {
      throw new OutputWriteError(final, cause);
    }
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw e;
  }
  return final;
}

/**
 * Writes the final model of a run to `out/model/` (model.json, weights.bin, manifest.json) atomically;
 * returns the folder. detkit-detect reads it first.
 */
export async function writeFinalModel(
  out: string,
  detector: Detector<DetectorConfig>,
  meta: { classes: readonly string[]; categoryIds?: readonly number[] | null; runId: string; epoch: number; step: number },
  probe?: WriteProbe,
): Promise<string> {
  return writeModelFolder(path.join(out, 'model'), detector, meta, probe);
}

/**
 * Writes a detector as a model folder `dir` (model.json, weights.bin, manifest.json) atomically, replacing
 * a folder already there; returns `dir`. {@link writeFinalModel} writes a run's `model/` with it, and
 * `detkit convert` its output.
 */
export async function writeModelFolder(
  dir: string,
  detector: Detector<DetectorConfig>,
  meta: { classes: readonly string[]; categoryIds?: readonly number[] | null; runId: string; epoch: number; step: number },
  probe?: WriteProbe,
): Promise<string> {
  const files = await modelFiles(detector, meta.classes, meta.categoryIds);
  return writeFolder(path.dirname(dir), path.basename(dir), files, { format: 'detkit-model', runId: meta.runId, epoch: meta.epoch, step: meta.step }, probe);
}

/**
 * Writes a checkpoint of the run atomically (as `checkpoints/epoch-NNNN`); returns its folder. The run's
 * checkpoints beyond the newest {@link KEEP_CHECKPOINTS} (by step) are removed.
 */
export async function writeCheckpoint(out: string, detector: Detector<DetectorConfig>, optimizer: tf.Optimizer, state: RunState, probe?: WriteProbe): Promise<string> {
  const root = path.join(out, CHECKPOINTS);
  try {
    await mkdir(root, { recursive: true });
  } catch (cause) {
    throw new OutputWriteError(root, cause);
  }
  const files = await modelFiles(detector, state.classes, state.categoryIds);
  const saved = await optimizerState(optimizer);
  try {
    const { data, specs } = await tf.io.encodeWeights(saved);
    files.push(['optimizer.bin', bufferOf(data)], ['optimizer.json', Buffer.from(JSON.stringify({ weightSpecs: specs }))]);
  } finally {
    tf.dispose(saved.map((s) => s.tensor));
  }
  files.push(['state.json', Buffer.from(JSON.stringify(state, null, 2))]);
  const name = `epoch-${String(state.epoch).padStart(4, '0')}`;
  const final = await writeFolder(root, name, files, { format: 'detkit-checkpoint', runId: state.runId, epoch: state.epoch, step: state.step }, probe);
  const own = (await listCheckpoints(out)).filter((c) => c.manifest?.runId === state.runId);
  await Promise.all(own.slice(0, Math.max(0, own.length - KEEP_CHECKPOINTS)).map((c) => rm(c.dir, { recursive: true, force: true })));
  return final;
}

// ---------------------------------------------------------------------------------------------------
// Reading and verifying

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new CheckpointError(file, `is not valid JSON (${(cause as Error).message})`, { cause });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

async function readBytes(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (cause) {
    const code = errnoCode(cause);
    throw new CheckpointError(file, code === 'ENOENT' ? 'is missing' : `cannot be read (${code ?? String(cause)})`, { cause });
  }
}

/** Reads and checks a folder's manifest.json; null when it has none. */
export async function readManifest(dir: string): Promise<FolderManifest | null> {
  const file = path.join(dir, MANIFEST);
  if (!existsSync(file)) return null;
  const m = parseJson(file, (await readBytes(file)).toString('utf8'));
  const bad = (what: string): never => {
    throw new CheckpointError(file, what);
  };
  if (!isObject(m) || (m.format !== 'detkit-checkpoint' && m.format !== 'detkit-model')) bad("is not a detkit manifest (format is not 'detkit-checkpoint' or 'detkit-model')");
  const manifest = m as unknown as FolderManifest;
  if (typeof manifest.runId !== 'string') bad("has no 'runId'");
  if (!Number.isInteger(manifest.step) || manifest.step < 0) bad(`has no valid 'step' (got ${JSON.stringify(manifest.step)})`);
  if (!Number.isInteger(manifest.epoch) || manifest.epoch < 0) bad(`has no valid 'epoch' (got ${JSON.stringify(manifest.epoch)})`);
  if (!isObject(manifest.files)) bad("has no 'files'");
  for (const [name, d] of Object.entries(manifest.files)) {
    if (path.basename(name) !== name || name === MANIFEST) bad(`lists '${name}', which is not a file of the folder`);
    if (!isObject(d) || !Number.isInteger(d.bytes) || typeof d.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(d.sha256)) bad(`has no valid size and sha256 for '${name}'`);
  }
  return manifest;
}

/** Reads every file the manifest lists, checking its size and sha256. */
async function verifiedFiles(dir: string, manifest: FolderManifest): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const [name, digest] of Object.entries(manifest.files)) {
    const file = path.join(dir, name);
    const data = await readBytes(file);
    if (data.length !== digest.bytes) {
      throw new CheckpointError(file, `is ${data.length} bytes, ${MANIFEST} records ${digest.bytes}${data.length < digest.bytes ? ' (truncated)' : ''}`);
    }
    if (sha256(data) !== digest.sha256) throw new CheckpointError(file, `its sha256 differs from the one ${MANIFEST} records (the file was damaged or changed after it was written)`);
    files.set(name, data);
  }
  return files;
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

function checkSpecs(file: string, specs: unknown): tf.io.WeightsManifestEntry[] {
  if (!Array.isArray(specs)) throw new CheckpointError(file, 'has no list of weight specs');
  for (const s of specs as unknown[]) {
    const spec = s as Partial<tf.io.WeightsManifestEntry> | null;
    if (!isObject(spec) || typeof spec.name !== 'string' || !Array.isArray(spec.shape) || !spec.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new CheckpointError(file, `has a weight spec that is not { name, shape, dtype }: ${JSON.stringify(s)?.slice(0, 120)}`);
    }
    if (spec.quantization !== undefined) throw new CheckpointError(file, `weight '${spec.name}' is quantized, which detkit does not write`);
    if (typeof spec.dtype !== 'string' || DTYPE_BYTES[spec.dtype] === undefined) throw new CheckpointError(file, `weight '${spec.name}' has dtype ${JSON.stringify(spec.dtype)} (expected float32, int32 or bool)`);
  }
  return specs as tf.io.WeightsManifestEntry[];
}

/**
 * Checks that `data` (the weight file `file`) has the size its specs describe and that every float32
 * value is finite; throws a CheckpointError naming the file (and the tensor) otherwise.
 */
function checkWeightData(file: string, specs: readonly tf.io.WeightsManifestEntry[], data: Buffer, describedBy: string): void {
  const sizes = specs.map((s) => s.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[s.dtype]!);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total !== data.length) {
    throw new CheckpointError(file, `is ${data.length} bytes, but ${describedBy} describes ${total} bytes of weights${data.length < total ? ' (truncated)' : ''}`);
  }
  let offset = 0;
  specs.forEach((spec, i) => {
    const bytes = sizes[i]!;
    if (spec.dtype === 'float32') {
      const start = data.byteOffset + offset;
      const values = start % 4 === 0 ? new Float32Array(data.buffer, start, bytes / 4) : new Float32Array(arrayBufferOf(data.subarray(offset, offset + bytes)));
      for (let j = 0; j < values.length; j++) {
        const v = values[j]!;
        if (!Number.isFinite(v)) throw new CheckpointError(file, `tensor '${spec.name}' holds ${String(v)} (element ${j}): the weights are not finite`);
      }
    }
    offset += bytes;
  });
}

/**
 * Reads `model.json` and its weight file from `dir` as tfjs model artifacts, with the class names. When
 * the folder has a manifest.json (the trainer writes one) every file is checked against it first; then the
 * weight file's size is checked against model.json's weightsManifest, and every float weight must be
 * finite.
 *
 * @throws CheckpointError naming the missing, truncated, altered or unparsable file, or the non-finite tensor.
 */
export async function readModel(dir: string, verified?: Map<string, Buffer>): Promise<{ artifacts: tf.io.ModelArtifacts; classes: string[]; categoryIds: number[] | null }> {
  let files = verified;
  if (files === undefined) {
    const manifest = await readManifest(dir);
    files = manifest === null ? new Map() : await verifiedFiles(dir, manifest);
  }
  const read = async (name: string) => files.get(name) ?? (await readBytes(path.join(dir, name)));
  const jsonFile = path.join(dir, 'model.json');
  const json = parseJson(jsonFile, (await read('model.json')).toString('utf8'));
  if (!isObject(json) || !isObject(json.modelTopology) || !Array.isArray(json.weightsManifest)) {
    throw new CheckpointError(jsonFile, 'is not a tfjs model.json (no modelTopology or weightsManifest)');
  }
  const groups = json.weightsManifest as unknown[];
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const g of groups) {
    if (!isObject(g) || !Array.isArray(g.paths) || !g.paths.every((p) => typeof p === 'string' && path.basename(p) === p)) {
      throw new CheckpointError(jsonFile, "has a weightsManifest group whose 'paths' are not file names in its folder");
    }
    const groupSpecs = checkSpecs(jsonFile, g.weights);
    const data = Buffer.concat(await Promise.all((g.paths as string[]).map(read)));
    checkWeightData(path.join(dir, (g.paths as string[]).join(', ')), groupSpecs, data, 'model.json');
    specs.push(...groupSpecs);
    buffers.push(data);
  }
  const meta = isObject(json.userDefinedMetadata) ? json.userDefinedMetadata : {};
  const classes = Array.isArray(meta.classes) && meta.classes.every((c) => typeof c === 'string') ? (meta.classes as string[]) : [];
  const ids = meta.categoryIds;
  const categoryIds = Array.isArray(ids) && ids.length === classes.length && ids.every((c) => Number.isSafeInteger(c)) ? (ids as number[]) : null;
  return {
    categoryIds,
    artifacts: {
      modelTopology: json.modelTopology,
      weightSpecs: specs,
      weightData: arrayBufferOf(Buffer.concat(buffers)),
      format: typeof json.format === 'string' ? json.format : undefined,
    },
    classes,
  };
}

function parseState(file: string, data: Buffer): RunState {
  const s = parseJson(file, data.toString('utf8'));
  const bad = (field: string, want: string): never => {
    throw new CheckpointError(file, `'${field}' must be ${want}`);
  };
  if (!isObject(s)) return bad('(root)', 'an object');
  if (s.version === 2) {
    throw new CheckpointError(file, "was written by an earlier detkit whose random generator (sfc32) this one no longer has, so the run cannot continue exactly: start a new run (e.g. with --overwrite)");
  }
  if (s.version !== 3) bad('version', `3 (got ${JSON.stringify(s.version)})`);
  if (typeof s.runId !== 'string') bad('runId', 'a string');
  for (const k of ['epoch', 'step', 'metricsLines'] as const) if (!Number.isInteger(s[k]) || (s[k] as number) < 0) bad(k, 'an integer >= 0');
  if (typeof s.trainSeconds !== 'number' || !(s.trainSeconds >= 0)) bad('trainSeconds', 'a number >= 0');
  if (!Array.isArray(s.rng) || s.rng.length !== 1 || !s.rng.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)) bad('rng', 'one integer in [0, 2^32) in an array');
  if (!isObject(s.config)) bad('config', 'an object');
  if (!Array.isArray(s.classes) || !s.classes.every((c) => typeof c === 'string')) bad('classes', 'a list of names');
  return s as unknown as RunState;
}

/** A checkpoint read into memory and verified; {@link applyCheckpoint} puts it into a detector and optimizer. */
export interface LoadedCheckpoint {
  dir: string;
  manifest: FolderManifest;
  state: RunState;
  model: { artifacts: tf.io.ModelArtifacts; classes: string[]; categoryIds: number[] | null };
  optimizer: { specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer };
}

/**
 * Reads and verifies a checkpoint folder: its manifest (required), every file's size and sha256, state.json,
 * model.json / weights.bin and optimizer.json / optimizer.bin (sizes against their specs, finite values).
 *
 * @throws CheckpointError naming the first damaged file.
 */
export async function readCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const manifest = await readManifest(dir);
  if (manifest === null) throw new CheckpointError(path.join(dir, MANIFEST), 'is missing (the checkpoint is incomplete, or was written by a trainer without checksums)');
  for (const name of ['model.json', 'weights.bin', 'optimizer.json', 'optimizer.bin', 'state.json']) {
    if (manifest.files[name] === undefined) throw new CheckpointError(path.join(dir, MANIFEST), `does not list ${name}`);
  }
  const files = await verifiedFiles(dir, manifest);
  const state = parseState(path.join(dir, 'state.json'), files.get('state.json')!);
  if (state.runId !== manifest.runId || state.step !== manifest.step) {
    throw new CheckpointError(path.join(dir, 'state.json'), `belongs to run ${state.runId} at step ${state.step}, but ${MANIFEST} says run ${manifest.runId} at step ${manifest.step}`);
  }
  const model = await readModel(dir, files);
  const optJson = path.join(dir, 'optimizer.json');
  const opt = parseJson(optJson, files.get('optimizer.json')!.toString('utf8'));
  const specs = checkSpecs(optJson, isObject(opt) ? opt.weightSpecs : undefined);
  const optBin = files.get('optimizer.bin')!;
  checkWeightData(path.join(dir, 'optimizer.bin'), specs, optBin, 'optimizer.json');
  return { dir, manifest, state, model, optimizer: { specs, data: arrayBufferOf(optBin) } };
}

/**
 * Puts a verified checkpoint's weights into `detector` and its slots into `optimizer` (built from the same
 * configuration). A mismatch the checks could not see is a CheckpointError naming the file.
 */
export async function applyCheckpoint(loaded: LoadedCheckpoint, detector: Detector<DetectorConfig>, optimizer: tf.Optimizer): Promise<void> {
  try {
    assignDetectorWeights(detector, loaded.model.artifacts);
  } catch (cause) {
    throw new CheckpointError(path.join(loaded.dir, 'weights.bin'), `does not fit the detector: ${(cause as Error).message}`, { cause });
  }
  const decoded = tf.io.decodeWeights(loaded.optimizer.data, loaded.optimizer.specs);
  try {
    await restoreOptimizerState(
      optimizer,
      loaded.optimizer.specs.map((s) => ({ name: s.name, tensor: decoded[s.name]! })),
    );
  } catch (cause) {
    if (cause instanceof CheckpointError) throw cause;
    throw new CheckpointError(path.join(loaded.dir, 'optimizer.bin'), `does not fit the optimizer: ${(cause as Error).message}`, { cause });
  } finally {
    tf.dispose(Object.values(decoded));
  }
}

/** A checkpoint folder found in a run's output folder, with its manifest or why it could not be read. */
export interface CheckpointEntry {
  dir: string;
  manifest: FolderManifest | null;
  /** Why the manifest could not be read (null when it was). */
  problem: string | null;
}

/**
 * The checkpoint folders of an output folder: those with a readable manifest ordered by the step it
 * records (oldest first), after those without one.
 */
export async function listCheckpoints(out: string): Promise<CheckpointEntry[]> {
  const root = path.join(out, CHECKPOINTS);
  const names = (await readdir(root).catch(() => [] as string[])).filter((n) => CHECKPOINT_NAME.test(n));
  const entries = await Promise.all(
    names.map(async (n): Promise<CheckpointEntry> => {
      const dir = path.join(root, n);
      try {
        const manifest = await readManifest(dir);
        return { dir, manifest, problem: manifest === null ? `${path.join(dir, MANIFEST)}: is missing` : null };
      } catch (e) {
        return { dir, manifest: null, problem: (e as Error).message.replace(/^checkpoint: /, '') };
      }
    }),
  );
  const step = (e: CheckpointEntry) => e.manifest?.step ?? -1;
  return entries.sort((a, b) => step(a) - step(b) || a.dir.localeCompare(b.dir));
}

/**
 * The newest intact checkpoint of an output folder (of run `runId`, when given), or null: checkpoints are
 * tried newest step first and the first that {@link readCheckpoint} verifies is returned.
 */
export async function latestCheckpoint(out: string, runId?: string): Promise<string | null> {
  const entries = (await listCheckpoints(out)).filter((e) => e.manifest !== null && (runId === undefined || e.manifest.runId === runId));
  for (const e of entries.reverse()) {
    try {
      await readCheckpoint(e.dir);
      return e.dir;
    } catch (err) {
      if (!(err instanceof CheckpointError)) throw err;
    }
  }
  return null;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}

/**
 * Removes the temporary folders (`.tmp-*-<pid>`) that a process killed while writing a checkpoint or
 * `model/` left in `out` and `out/checkpoints`; those of a live process are left alone. A folder that was
 * moved aside to be replaced (`.tmp-old-<name>-<pid>`) is moved back when `<name>` is missing. Returns
 * what was done, one line per folder (`removed <path>`, `restored <path> from <temporary>`).
 */
export async function removeStaleTemporaries(out: string): Promise<string[]> {
  const done: string[] = [];
  for (const dir of [out, path.join(out, CHECKPOINTS)]) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const n of names) {
      const m = /^\.tmp-(old-)?(.+)-(\d+)$/.exec(n);
      if (!n.startsWith(TMP_PREFIX) || (m !== null && isAlive(Number(m[3])))) continue;
      const full = path.join(dir, n);
      if (m?.[1] !== undefined && !existsSync(path.join(dir, m[2]!))) {
        await rename(full, path.join(dir, m[2]!));
        done.push(`restored ${path.join(dir, m[2]!)} from ${full}`);
      } else {
        await rm(full, { recursive: true, force: true });
        done.push(`removed ${full}`);
      }
    }
  }
  return done;
}
