import path from 'node:path';
import { DetkitError } from '@detkit/core';

/**
 * Where relative paths given on the command line are resolved: the folder the user ran the command in.
 * `pnpm train` runs the app inside apps/trainer, but pnpm keeps the caller's folder in INIT_CWD.
 */
export function userPath(p: string): string {
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), p);
}

/**
 * Runs a command-line entry point: a detkit error (bad flag, missing backend, bad data) prints its message
 * and exits with status 1 (2 for bad arguments); anything else is a bug and keeps its stack.
 */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    if (DetkitError.isInstance(e)) {
      process.stderr.write(`error: ${e.message}\n`);
      process.exitCode = e.code === 'INVALID_ARGUMENT' ? 2 : 1;
      return;
    }
    throw e;
  }
}
