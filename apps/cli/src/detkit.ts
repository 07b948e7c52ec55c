#!/usr/bin/env node
/** The `detkit` executable: `detkit train | detect | eval | convert`. See `detkit --help` and the README. */
import { runMain } from '@detkit/trainer/commands';
import { main } from './main';

await runMain(() => main(process.argv.slice(2)));
