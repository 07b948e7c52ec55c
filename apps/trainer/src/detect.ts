#!/usr/bin/env node
/** detkit-detect: runs a model saved by detkit-train on image files. See `detkit-detect --help`. `@detkit/cli` runs it as `detkit detect`. */
import { detect } from './commands';
import { runMain } from './main-helpers';

await runMain(() => detect(process.argv.slice(2)));
