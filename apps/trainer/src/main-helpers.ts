import path from 'node:path';
import { DetkitError } from '@detkit/core';

/**
 * Where relative paths given on the command line are resolved: the folder the user ran the command in.
 * `pnpm train` runs the app inside apps/trainer, but pnpm keeps the caller's folder in INIT_CWD.
 */
export function userPath(p: string): string {
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), p);
}

/** A Node file-system error (ENOSPC, EACCES, EROFS ...): an `E...` code and the failed system call. */
function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  const x = e as NodeJS.ErrnoException | null;
  return x instanceof Error && typeof x.code === 'string' && /^E[A-Z]+$/.test(x.code) && (typeof x.syscall === 'string' || x.name === 'OutputWriteError');
}

/**
 * Runs a command-line entry point: a detkit error (bad flag, missing backend, bad data, a damaged
 * checkpoint) prints its message and exits with status 1 (2 for bad arguments); a failed write (a full
 * disk) prints its message, with the file, and exits with status 1; anything else is a bug and keeps its
 * stack. A closed stdout (`detkit-train --help | head`) ends the output quietly, not with a stack.
 */
export async function runMain(main: () => Promise<void>): Promise<void> {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
  try {
    await main();
  } catch (e) {
    if (DetkitError.isInstance(e)) {
      process.stderr.write(`error: ${e.message}\n`);
      process.exitCode = e.code === 'INVALID_ARGUMENT' ? 2 : 1;
      return;
    }
    if (isSystemError(e)) {
      const where = e.path !== undefined && !e.message.includes(e.path) ? ` (${e.path})` : '';
      process.stderr.write(`error: ${e.message}${where}\n`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}
