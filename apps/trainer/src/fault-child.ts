/**
 * Test support for src/faults.test.ts, not part of the app (tsup does not build it): `detkit-train` as a
 * child process that reports where it is, so the test can kill it with SIGKILL at a chosen point.
 *
 * It takes detkit-train's arguments and runs exactly what `detkit-train` runs (same parsing, same exit
 * statuses), and sends the parent (over the IPC channel of `child_process.fork`) a message after each
 * step (`{ type: 'step', step, epoch }`), epoch and file written into a checkpoint or `model/`
 * (`{ type: 'write', stage, dir, file }`). With `DETKIT_FAULT_PAUSE='{"stage":"checkpoint","dir":"epoch-0002","file":"weights.bin"}'`
 * it stops (forever) right after that file is written and says `{ type: 'paused' }`, for the parent to kill it.
 */
import path from 'node:path';
import { parseTrainArgs, unlessHelp } from './cli';
import { runMain, userPath } from './main-helpers';
import { runTraining } from './run-training';

interface Pause {
  stage: 'checkpoint' | 'model';
  /** The folder's name (`epoch-0002`, `model`). */
  dir: string;
  file: string;
}

const pause = process.env.DETKIT_FAULT_PAUSE ? (JSON.parse(process.env.DETKIT_FAULT_PAUSE) as Pause) : null;
const send = (message: object) => process.send?.(message);

await runMain(async () => {
  let config = await unlessHelp(() => parseTrainArgs(process.argv.slice(2)));
  if (config === null) return;
  config = { ...config, out: userPath(config.out) };
  const summary = await runTraining(config, {
    onStep: (r) => {
      send({ type: 'step', step: r.step, epoch: r.epoch });
    },
    onEpoch: (r) => {
      send({ type: 'epoch', epoch: r.epoch });
    },
    onWrite: async (e) => {
      send({ type: 'write', stage: e.stage, dir: e.dir, file: e.file });
      if (pause && pause.stage === e.stage && pause.dir === path.basename(e.dir) && pause.file === e.file) {
        send({ type: 'paused' });
        // Wait here until the parent's SIGKILL (a timer keeps the event loop alive).
        await new Promise<never>(() => setInterval(() => {}, 60_000));
      }
    },
  });
  summary.detector.dispose();
});
