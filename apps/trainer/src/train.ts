#!/usr/bin/env node
/**
 * detkit-train: trains a detector (SSD by default, on the built-in synthetic set, wasm backend). See
 * `detkit-train --help` and the README. `@detkit/cli` runs the same command as `detkit train`.
 */
import { train } from './commands';
import { runMain } from './main-helpers';

await runMain(() => train(process.argv.slice(2)));
