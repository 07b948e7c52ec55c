#!/usr/bin/env node
/**
 * detkit-train: trains a detector (SSD by default, on the built-in synthetic set, wasm backend). See
 * `detkit-train --help` and the README.
 */
import { HelpShown, parseTrainArgs } from './cli';
import { runMain, userPath } from './main-helpers';
import { runTraining } from './run-training';

await runMain(async () => {
  let config;
  try {
    config = await parseTrainArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof HelpShown) return;
    throw e;
  }
  config = { ...config, out: userPath(config.out), data: config.data === 'synthetic' || config.data.startsWith('synthetic:') ? config.data : userPath(config.data) };
  const summary = await runTraining(config);
  summary.detector.dispose();
});
