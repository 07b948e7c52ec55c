#!/usr/bin/env node
/** detkit-detect: runs a model saved by detkit-train on image files. See `detkit-detect --help`. */
import { HelpShown } from './cli';
import { runMain, userPath } from './main-helpers';
import { parseDetectArgs, runDetect } from './run-detect';

await runMain(async () => {
  let config;
  try {
    config = parseDetectArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof HelpShown) return;
    throw e;
  }
  await runDetect({ ...config, model: userPath(config.model), out: userPath(config.out), images: config.images.map(userPath) });
});
