/**
 * A run owns its output folder. A new run writes `run.json` (a random run id, the time and the
 * configuration) into it, and every checkpoint records that id; a new run pointed at a folder that already
 * holds a run stops with an {@link OutputFolderInUseError} (or, with `--overwrite`, clears the trainer's
 * outputs there first), and `--resume` continues only the folder's own run, from its newest intact
 * checkpoint, with a configuration that matches the checkpoint's in every field but {@link RESUMABLE_FIELDS}.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import writeFileAtomic from 'write-file-atomic';
import { InvalidArgumentError, type SeededRandom, type tf } from '@detkit/core';
import type { Detector, DetectorConfig } from '@detkit/models';
import { applyCheckpoint, CHECKPOINTS, listCheckpoints, readCheckpoint, removeStaleTemporaries, type LoadedCheckpoint, type RunState } from './checkpoint';
import { defaultConfig, type TrainConfig } from './config';
import { CheckpointError, OutputFolderInUseError, OutputWriteError, ResumeMismatchError, type ConfigDifference } from './errors';

/** The file that marks a folder as a run's: {@link RunRecord}. */
export const RUN_FILE = 'run.json';

/** What `run.json` holds. */
export interface RunRecord {
  format: 'detkit-run';
  version: 1;
  /** Random id (a UUID) of the run; each checkpoint's manifest and state.json repeat it. */
  runId: string;
  /** ISO time the run started. */
  createdAt: string;
  /** The configuration the run started with. */
  config: TrainConfig;
}

/** An output folder opened for a run. */
export interface RunFolder {
  out: string;
  runId: string;
}

/**
 * Configuration fields that may differ between a checkpoint and the run that resumes it: how long the run
 * goes on (epochs, time budget, step limit: a cosine schedule is then stretched to the new length from the
 * step reached), where the folder is now, the backend (results then match within float rounding rather
 * than bit for bit), and how much is drawn and shown. Every other field (model, data and its splits, image
 * size, batch size, optimizer, learning rate and schedule, augmentation, seed, image limits, model options,
 * and any field added later) must match: changing it would silently train a different run. `weights` only
 * chooses where a fresh run starts: a resumed run continues from its checkpoint's weights.
 */
export const RESUMABLE_FIELDS: readonly string[] = ['epochs', 'time', 'maxSteps', 'out', 'resume', 'overwrite', 'backend', 'switchBackendAt', 'threads', 'workers', 'draw', 'progress', 'weights'];

/** What the trainer writes into an output folder: what `--overwrite` removes (nothing else is touched). */
export const RUN_OUTPUTS: readonly string[] = [RUN_FILE, CHECKPOINTS, 'model', 'metrics.jsonl', 'loss.png', 'map.png', 'detections', 'val-annotations.json', 'val-results.json'];

/** Leftovers of write-file-atomic's temporary files (`<name>.<hash>`) next to the files it writes. */
const ATOMIC_LEFTOVER = /^(run\.json|metrics\.jsonl)\.\d+$/;

/** Writes a whole file atomically (write-file-atomic: a temporary file, fsync, rename). */
export async function writeAtomic(file: string, data: string | Buffer): Promise<void> {
  try {
    await writeFileAtomic(file, data);
  } catch (cause) {
    throw new OutputWriteError(file, cause);
  }
}

/** Makes sure `dir` is a folder (creating it): a file there, or a folder that cannot be made, is an InvalidArgumentError naming `argument`. */
export async function ensureFolder(op: string, argument: string, dir: string): Promise<void> {
  const info = await stat(dir).catch((e: NodeJS.ErrnoException) => e);
  if (!(info instanceof Error)) {
    if (!info.isDirectory()) throw new InvalidArgumentError(op, argument, `${dir} is a file, not a folder`);
    return;
  }
  if (info.code === 'ENOTDIR') throw new InvalidArgumentError(op, argument, `${dir} is inside a file, not a folder`);
  try {
    await mkdir(dir, { recursive: true });
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new InvalidArgumentError(op, argument, `cannot create the folder ${dir} (${code === 'ENOTDIR' ? 'a part of the path is a file' : (code ?? String(cause))})`);
  }
}

async function readRunRecord(out: string, log: (line: string) => void): Promise<RunRecord | null> {
  const file = path.join(out, RUN_FILE);
  if (!existsSync(file)) return null;
  try {
    const record = JSON.parse(await readFile(file, 'utf8')) as Partial<RunRecord>;
    if (record.format !== 'detkit-run' || typeof record.runId !== 'string') throw new Error("no 'runId'");
    return record as RunRecord;
  } catch (e) {
    log(`warning: ${file} cannot be read (${(e as Error).message}); the run id is taken from the checkpoints`);
    return null;
  }
}

/** What of a run the folder holds, in words ('run.json, 2 checkpoints, model/'), or null for nothing. */
async function runTraces(out: string): Promise<string | null> {
  const traces: string[] = [];
  if (existsSync(path.join(out, RUN_FILE))) traces.push(RUN_FILE);
  const checkpoints = (await readdir(path.join(out, CHECKPOINTS)).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
  if (checkpoints.length > 0) traces.push(`${checkpoints.length} checkpoint${checkpoints.length === 1 ? '' : 's'}`);
  if (existsSync(path.join(out, 'model'))) traces.push('model/');
  return traces.length > 0 ? traces.join(', ') : null;
}

async function writeRunRecord(out: string, runId: string, config: TrainConfig): Promise<void> {
  const record: RunRecord = { format: 'detkit-run', version: 1, runId, createdAt: new Date().toISOString(), config };
  await writeAtomic(path.join(out, RUN_FILE), `${JSON.stringify(record, null, 2)}\n`);
}

/**
 * Opens `config.out` for a run, before any training: it must be a folder (created if missing); temporary
 * folders of a write that a kill interrupted are removed; then
 * - a new run (no `resume`) into a folder that holds a run (run.json, checkpoints or model/) throws
 *   {@link OutputFolderInUseError} without touching it, unless `overwrite` is set, which removes the
 *   trainer's outputs there ({@link RUN_OUTPUTS}, nothing else); the run gets a new id in run.json;
 * - a resumed run keeps the folder's run id (from run.json, else from its newest checkpoint).
 *
 * @throws InvalidArgumentError (exit status 2) for an `out` that is a file or cannot be created, and for
 *   `resume` with `overwrite`.
 */
export async function openRunFolder(config: TrainConfig, log: (line: string) => void): Promise<RunFolder> {
  const out = config.out;
  if (config.resume && config.overwrite) throw new InvalidArgumentError('detkit-train', 'overwrite', 'cannot be combined with --resume (one continues the run in the folder, the other clears it)');
  await ensureFolder('detkit-train', 'out', out);
  for (const done of await removeStaleTemporaries(out)) log(`${done}, left by a run killed while writing`);
  for (const n of await readdir(out)) if (ATOMIC_LEFTOVER.test(n)) await rm(path.join(out, n), { force: true });
  const record = await readRunRecord(out, log);
  if (!config.resume) {
    const traces = await runTraces(out);
    if (traces !== null) {
      if (!config.overwrite) throw new OutputFolderInUseError(out, record?.runId ?? null, traces);
      await Promise.all(RUN_OUTPUTS.map((n) => rm(path.join(out, n), { recursive: true, force: true })));
      log(`--overwrite: removed the previous run's outputs from ${out} (${traces})`);
    }
    const runId = randomUUID();
    await writeRunRecord(out, runId, config);
    return { out, runId };
  }
  if (record !== null) return { out, runId: record.runId };
  const newest = (await listCheckpoints(out)).filter((e) => e.manifest !== null).pop();
  const runId = newest?.manifest?.runId ?? randomUUID();
  await writeRunRecord(out, runId, config);
  return { out, runId };
}

/**
 * The fields in which a resumed run's configuration differs from its checkpoint's, leaving out
 * {@link RESUMABLE_FIELDS}. A field the checkpoint does not record (added to the trainer later) counts as
 * the model's default.
 */
export function configDifferences(saved: Partial<TrainConfig>, now: TrainConfig): ConfigDifference[] {
  const defaults = defaultConfig(saved.model ?? now.model) as unknown as Record<string, unknown>;
  const a = saved as Record<string, unknown>;
  const b = now as unknown as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const differences: ConfigDifference[] = [];
  for (const field of keys) {
    if (RESUMABLE_FIELDS.includes(field)) continue;
    const before = field in a ? a[field] : defaults[field];
    const after = field in b ? b[field] : defaults[field];
    if (!isDeepStrictEqual(before, after)) differences.push({ field, checkpoint: a[field], now: b[field] });
  }
  return differences;
}

/** What {@link resumeRun} restores into. */
export interface ResumeTargets {
  detector: Detector<DetectorConfig>;
  optimizer: tf.Optimizer;
  rng: SeededRandom;
  /** metrics.jsonl, cut back to the lines the checkpoint recorded. */
  metricsFile: string;
}

/**
 * Continues the folder's run: tries its checkpoints newest step first, skipping (and reporting) damaged
 * ones, checks that the configuration and class names match the first intact one's, then restores weights,
 * optimizer slots and RNG state, removes the damaged checkpoints, and cuts metrics.jsonl back to the lines
 * written up to that checkpoint. With no checkpoint at all it starts from scratch (returns null).
 *
 * @returns The checkpoint's run state, or null when there was none.
 * @throws CheckpointError (exit status 1) when the folder has checkpoints but none is intact;
 *   ResumeMismatchError (exit status 2) naming each configuration difference; InvalidArgumentError for
 *   fewer epochs than the checkpoint has done.
 */
export async function resumeRun(run: RunFolder, config: TrainConfig, classes: readonly string[], targets: ResumeTargets, log: (line: string) => void): Promise<RunState | null> {
  const entries = await listCheckpoints(run.out);
  if (entries.length === 0) {
    log(`no checkpoint in ${run.out}: starting from scratch`);
    await writeAtomic(targets.metricsFile, '');
    return null;
  }
  const damaged: { dir: string; problem: string }[] = [];
  let loaded: LoadedCheckpoint | null = null;
  for (const e of [...entries].reverse()) {
    if (e.manifest === null) {
      damaged.push({ dir: e.dir, problem: e.problem ?? 'no manifest' });
      continue;
    }
    if (e.manifest.runId !== run.runId) {
      log(`${e.dir} belongs to run ${e.manifest.runId}, not to this folder's run ${run.runId}: left alone`);
      continue;
    }
    try {
      loaded = await readCheckpoint(e.dir);
      break;
    } catch (err) {
      if (!(err instanceof CheckpointError)) throw err;
      damaged.push({ dir: e.dir, problem: err.message.replace(/^checkpoint: /, '') });
    }
  }
  for (const d of damaged) log(`damaged checkpoint ${d.dir}: ${d.problem}`);
  if (loaded === null) {
    throw new CheckpointError(path.join(run.out, CHECKPOINTS), `holds no intact checkpoint of run ${run.runId} (${damaged.map((d) => d.problem).join('; ') || 'none of its own'}); start over with --overwrite`);
  }
  const saved = loaded.state;
  const differences = configDifferences(saved.config, config);
  if (!isDeepStrictEqual(saved.classes, [...classes])) differences.push({ field: 'classes', checkpoint: saved.classes, now: [...classes] });
  if (differences.length > 0) throw new ResumeMismatchError(loaded.dir, differences, RESUMABLE_FIELDS);
  if (typeof config.epochs === 'number' && config.epochs < saved.epoch) throw new InvalidArgumentError('detkit-train', 'epochs', `is ${config.epochs}, but checkpoint ${loaded.dir} has ${saved.epoch} epochs done`);
  await applyCheckpoint(loaded, targets.detector, targets.optimizer);
  targets.rng.restore(saved.rng);
  for (const d of damaged) {
    await rm(d.dir, { recursive: true, force: true });
    log(`removed damaged checkpoint ${d.dir}`);
  }
  const text = await readFile(targets.metricsFile, 'utf8').catch(() => '');
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length < saved.metricsLines) log(`warning: ${targets.metricsFile} has ${lines.length} lines, fewer than the ${saved.metricsLines} the checkpoint recorded`);
  await writeAtomic(targets.metricsFile, lines.slice(0, saved.metricsLines).map((l) => `${l}\n`).join(''));
  log(
    damaged.length > 0
      ? `resumed from ${loaded.dir}, the newest intact checkpoint: ${saved.epoch} epoch(s), ${saved.step} step(s) done`
      : `resumed from ${loaded.dir}: ${saved.epoch} epoch(s), ${saved.step} step(s) done`,
  );
  return saved;
}
