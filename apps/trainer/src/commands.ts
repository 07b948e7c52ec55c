/**
 * The trainer as a library for command-line front ends: `detkit-train` / `detkit-detect` (this app's bins)
 * and `@detkit/cli`'s `detkit train | detect | eval | convert`, which bundles this module. Each command
 * takes its arguments (without `node` and the script) and throws what its entry point prints with
 * {@link runMain}.
 */
import path from 'node:path';
import { DataError } from '@detkit/data';
import { parseTrainArgs, unlessHelp, type CliIo } from './cli';
import { parseDetectArgs, runDetect } from './run-detect';
import { runTraining } from './run-training';

/** Options of {@link train} and {@link detect}. */
export interface CommandOptions {
  /** The program name in usage lines, help, examples and argument errors: `'detkit-train'` / `'detkit-detect'` by default, `'detkit train'` in @detkit/cli. */
  name?: string;
  /** Folder relative paths are resolved against. Default: INIT_CWD (the folder `pnpm train` ran in), else the current folder. */
  cwd?: string;
  /** Where help text goes (tests capture it); default the process's streams. */
  io?: CliIo;
}

function resolver(options: CommandOptions): (p: string) => string {
  const base = options.cwd ?? process.env.INIT_CWD ?? process.cwd();
  return (p) => path.resolve(base, p);
}

/**
 * The training command: parses `argv` (see `detkit-train --help`), trains, writes the run folder. Returns
 * without training after `--help`.
 *
 * @throws InvalidArgumentError for bad arguments, configuration or data; the trainer's CheckpointError,
 * OutputWriteError and the data readers' errors otherwise.
 */
export async function train(argv: readonly string[], options: CommandOptions = {}): Promise<void> {
  const resolve = resolver(options);
  let config = await unlessHelp(() => parseTrainArgs(argv, options.io, { name: options.name ?? 'detkit-train', cwd: options.cwd ?? process.env.INIT_CWD ?? process.cwd() }));
  if (config === null) return;
  const synthetic = config.data === 'synthetic' || config.data.startsWith('synthetic:');
  config = { ...config, out: resolve(config.out), data: synthetic ? config.data : resolve(config.data) };
  let summary: Awaited<ReturnType<typeof runTraining>>;
  try {
    summary = await runTraining(config);
  } catch (e) {
    // A bad record or image stops the run under --on-invalid throw: say how to train without it.
    if (e instanceof DataError && e.skippable) {
      const { file, record, kind, problem } = e;
      throw new DataError({ file, record, kind, problem: `${problem} (--on-invalid skip leaves such records and images out and reports them)` }, { cause: e });
    }
    throw e;
  }
  summary.detector.dispose();
}

/**
 * The detection command: parses `argv` (see `detkit-detect --help`), runs a saved model on image files,
 * writes drawn PNGs and detections.json. Returns without detecting after `--help`.
 */
export async function detect(argv: readonly string[], options: CommandOptions = {}): Promise<void> {
  const resolve = resolver(options);
  const config = await unlessHelp(() => parseDetectArgs(argv, options.io, options.name ?? 'detkit-detect'));
  if (config === null) return;
  await runDetect({ ...config, model: resolve(config.model), out: resolve(config.out), images: config.images.map(resolve) });
}

export { HelpShown, nonNegativeInteger, parseCommand, unlessHelp, type CliIo } from './cli';
export { runMain } from './main-helpers';
export { CheckpointError, OutputWriteError } from './errors';
export { latestCheckpoint, listCheckpoints, readManifest, readModel, writeModelFolder, type FolderManifest } from './checkpoint';
export { RUN_FILE, ensureFolder, writeAtomic } from './run-folder';
export { cocoImageRoot, findCocoLayout, findVocRoots } from './dataset';
export { resolveModelDir, type ImageDetections } from './run-detect';
export { evaluateDetector, formatCocoTable, scoreDetections, type CocoResultRecord, type CocoSummary, type Evaluation, type Scores } from './evaluate';
