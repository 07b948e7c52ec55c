#!/usr/bin/env node
/** The `detkit` executable: `detkit train | detect | eval | convert`. See `detkit --help` and the README. */
import { runMain } from '@detkit/trainer/commands';
import { main } from './main';

// `detkit train --help | head`: a closed pipe ends the output, not the program with a stack.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(process.exitCode ?? 0);
});

await runMain(() => main(process.argv.slice(2)));
