/**
 * The trainer's own error types: damaged checkpoint or model files, an output folder that holds another
 * run, a resume whose configuration differs from the checkpoint's, and a failed write (a full disk).
 * `detkit-train` / `detkit-detect` print their message on one line: exit status 2 for the argument errors
 * (`OutputFolderInUseError`, `ResumeMismatchError`: code `'INVALID_ARGUMENT'`), 1 for the others.
 */
import { DetkitError, InvalidArgumentError } from '@detkit/core';

/**
 * A checkpoint or model file is missing, truncated, altered after it was written (its sha256 differs from
 * the one `manifest.json` records), not valid JSON, or holds weights that are NaN or infinite. `file` is
 * the path of the damaged file (or of the folder, when no checkpoint of a run is intact). Code `'DATA'`.
 */
export class CheckpointError extends DetkitError {
  /** The damaged file (absolute or as given). */
  readonly file: string;
  /** What is wrong with it, without the file name. */
  readonly problem: string;

  constructor(file: string, problem: string, options?: { cause?: unknown }) {
    super('DATA', `checkpoint: ${file}: ${problem}`, options);
    this.name = 'CheckpointError';
    this.file = file;
    this.problem = problem;
  }
}

/**
 * A new run (no `--resume`) was pointed at an output folder that already holds a run (its `run.json`,
 * checkpoints or `model/`). Nothing in the folder is changed; `--resume` continues that run and
 * `--overwrite` clears it first. Code `'INVALID_ARGUMENT'` (exit status 2).
 */
export class OutputFolderInUseError extends InvalidArgumentError {
  /** The output folder. */
  readonly folder: string;
  /** The run id recorded in the folder's run.json, or null when it has none (a folder from an older trainer). */
  readonly runId: string | null;

  constructor(folder: string, runId: string | null, holds: string) {
    super(
      'detkit-train',
      'out',
      `${folder} already holds ${runId === null ? 'a run' : `run ${runId}`} (${holds}); continue it with --resume, clear it with --overwrite, or choose another --out`,
    );
    this.name = 'OutputFolderInUseError';
    this.folder = folder;
    this.runId = runId;
  }
}

/** One configuration field that differs between a checkpoint and a resumed run. */
export interface ConfigDifference {
  field: string;
  /** The checkpoint's value (`undefined`: not recorded, the model's default applies). */
  checkpoint: unknown;
  now: unknown;
}

/**
 * `--resume` with a configuration that differs from the checkpoint's in a field that must not change
 * within a run (anything but those in `RESUMABLE_FIELDS`). Every difference is named. Code
 * `'INVALID_ARGUMENT'` (exit status 2).
 */
export class ResumeMismatchError extends InvalidArgumentError {
  readonly checkpoint: string;
  readonly differences: readonly ConfigDifference[];

  constructor(checkpoint: string, differences: readonly ConfigDifference[], allowed: readonly string[]) {
    const list = differences.map((d) => `${d.field} ${JSON.stringify(d.checkpoint)} in the checkpoint, ${JSON.stringify(d.now)} now`).join('; ');
    super('detkit-train', 'resume', `the configuration differs from checkpoint ${checkpoint}'s: ${list} (only ${allowed.join(', ')} may change on resume)`);
    this.name = 'ResumeMismatchError';
    this.checkpoint = checkpoint;
    this.differences = differences;
  }
}

/**
 * Writing an output file failed (a full disk: `ENOSPC`, a read-only or vanished folder). The message names
 * the file and keeps Node's error code (`code`). Not a {@link DetkitError}: nothing about the input is
 * wrong; the checkpoints written before it stay intact and `--resume` continues once the cause is fixed.
 */
export class OutputWriteError extends Error {
  /** Node's error code, e.g. `'ENOSPC'`. */
  readonly code: string;
  /** The file being written. */
  readonly path: string;

  constructor(file: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | null)?.code ?? 'EIO';
    super(`cannot write ${file}: ${(cause as Error | null)?.message ?? String(cause)}`, { cause });
    this.name = 'OutputWriteError';
    this.code = code;
    this.path = file;
  }
}
