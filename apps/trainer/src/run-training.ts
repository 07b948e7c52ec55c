import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { SingleBar } from 'cli-progress';
import { useBackend } from '@detkit/backends';
import { tf } from '@detkit/core';
import { createLoader } from '@detkit/data';
import { assignDetectorWeights, createFasterRcnn, disposeOptimizer, createSsd, setLearningRate, trainableVariables, type Detector, type DetectorConfig } from '@detkit/models';
import { createRng } from '@detkit/samplers';
import { latestCheckpoint, readModel, readState, restoreOptimizer, writeCheckpoint, writeModel, type RunState } from './checkpoint';
import type { TrainConfig } from './config';
import { openData } from './dataset';
import { drawDetections } from './draw';
import { evaluateDetector, type Evaluation } from './evaluate';
import { createOptimizer } from './optimizer';
import { linePlot, smooth } from './plot';
import { learningRate } from './schedule';

/** One line of metrics.jsonl for a training step. */
export interface StepRecord {
  type: 'step';
  epoch: number;
  step: number;
  lr: number;
  loss: number;
  parts: Record<string, number>;
  /** Steps per second over this step alone (wall clock, includes data loading). */
  stepsPerSecond: number;
}

/** One line of metrics.jsonl after each epoch's evaluation. */
export interface EpochRecord {
  type: 'epoch';
  epoch: number;
  step: number;
  loss: number;
  parts: Record<string, number>;
  /** VOC mAP@0.5 on the validation split. */
  map: number;
  perClass: Record<string, number>;
  /** Training seconds of the run so far (evaluation excluded). */
  trainSeconds: number;
  evalSeconds: number;
  /** Mean steps per second of the epoch. */
  stepsPerSecond: number;
  /** 1-minute load average of the machine at the end of the epoch (other processes share the CPU). */
  load: number;
  backend: string;
}

/** Hooks for tests and embedding: called after each step and epoch; throwing stops the run there (as a crash would). */
export interface RunHooks {
  log?: (line: string) => void;
  onStep?: (record: StepRecord) => void | Promise<void>;
  onEpoch?: (record: EpochRecord) => void | Promise<void>;
}

/** What a finished run reports. */
export interface RunSummary {
  out: string;
  epochs: EpochRecord[];
  finalMap: number;
  /** The last checkpoint's folder. */
  checkpoint: string;
  detector: Detector<DetectorConfig>;
}

/** Builds the detector of a configuration, seeded. */
export function buildDetector(config: TrainConfig, numClasses: number): Detector<DetectorConfig> {
  const options = { ...config.modelOptions, numClasses, imageSize: config.imageSize, seed: config.seed };
  return config.model === 'ssd' ? createSsd(options) : createFasterRcnn(options);
}

function formatParts(parts: Record<string, number>): string {
  return Object.entries(parts)
    .map(([k, v]) => `${k} ${v.toFixed(3)}`)
    .join(', ');
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

async function readMetricLines(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.trim() !== '');
}

/** Writes loss.png (smoothed total and parts per step) and map.png (mAP per epoch). */
async function writePlots(out: string, lines: readonly string[]): Promise<void> {
  const records = lines.map((l) => JSON.parse(l) as StepRecord | EpochRecord);
  const steps = records.filter((r): r is StepRecord => r.type === 'step');
  const epochs = records.filter((r): r is EpochRecord => r.type === 'epoch');
  const window = Math.max(1, Math.round(steps.length / 60));
  const names = Object.keys(steps[0]?.parts ?? {});
  const series = [
    { name: 'total', points: smooth(steps.map((s) => [s.step, s.loss] as const), window) },
    ...names.map((n) => ({ name: n, points: smooth(steps.map((s) => [s.step, s.parts[n] ?? NaN] as const), window) })),
  ];
  await writeFile(path.join(out, 'loss.png'), linePlot(series, { title: `training loss (moving average of ${window} steps)`, xLabel: 'step', logY: true }).png());
  const map = [{ name: 'VOC mAP@0.5', points: epochs.map((e) => [e.epoch + 1, e.map] as const) }];
  await writeFile(path.join(out, 'map.png'), linePlot(map, { title: 'validation mAP@0.5', xLabel: 'epoch', width: 600, height: 360 }).png());
}

async function writeDrawings(out: string, evaluation: Evaluation, classes: readonly string[]): Promise<void> {
  const dir = path.join(out, 'detections');
  await mkdir(dir, { recursive: true });
  await Promise.all(
    evaluation.images.map((img) =>
      writeFile(
        path.join(dir, `val-${String(img.id)}.png`),
        drawDetections(img.rgb, img.width, img.height, img.detections, { classes, groundTruth: img.groundTruth }).png(),
      ),
    ),
  );
}

/**
 * Trains a detector as `config` says: opens the data, builds (or, with `resume`, restores) the detector,
 * optimizer and RNG, and runs the epochs. After each epoch: evaluation on the validation split (VOC mAP@0.5
 * and the per-class table), metrics.jsonl, loss.png / map.png, drawn detections and an atomic checkpoint.
 * `--backend gpu` without tfjs-node-gpu fails here, before any work, with @detkit/backends' error.
 */
export async function runTraining(config: TrainConfig, hooks: RunHooks = {}): Promise<RunSummary> {
  const log = hooks.log ?? ((line: string) => console.log(line));
  const backend = await useBackend(config.backend);
  const data = await openData(config.data, { train: config.trainLimit, val: config.valLimit });
  const classes = [...data.classes];
  const out = config.out;
  await mkdir(out, { recursive: true });
  const metricsFile = path.join(out, 'metrics.jsonl');

  const detector = buildDetector(config, classes.length);
  const variables = trainableVariables(detector);
  const optimizer = createOptimizer(config.optimizer, config.lr, config.momentum);
  const rng = createRng(config.seed);
  let state: RunState = { version: 1, epoch: 0, step: 0, rng: rng.state(), metricsLines: 0, trainSeconds: 0, config, classes };

  if (config.resume) {
    const dir = await latestCheckpoint(out);
    if (dir === null) {
      log(`no checkpoint in ${out}: starting from scratch`);
    } else {
      const saved = await readState(dir);
      const { artifacts } = await readModel(dir);
      assignDetectorWeights(detector, artifacts);
      await restoreOptimizer(dir, optimizer);
      rng.restore(saved.rng);
      state = { ...saved, config };
      const lines = await readMetricLines(metricsFile);
      await writeFile(metricsFile, lines.slice(0, saved.metricsLines).map((l) => `${l}\n`).join(''));
      log(`resumed from ${dir}: ${saved.epoch} epoch(s), ${saved.step} step(s) done`);
    }
  } else {
    await writeFile(metricsFile, '');
  }

  const train = createLoader({ source: data.train, imageSize: config.imageSize, batchSize: config.batchSize, flip: config.flip, seed: config.seed, dropLast: data.train.length >= config.batchSize });
  const val = createLoader({ source: data.val, imageSize: config.imageSize, batchSize: Math.max(config.batchSize, 32), shuffle: false });
  const stepsPerEpoch = train.batchesPerEpoch;
  const totalSteps = stepsPerEpoch * config.epochs;
  const schedule = { kind: config.schedule, lr: config.lr, warmupSteps: config.warmupSteps, milestones: config.milestones };
  const params = variables.reduce((s, v) => s + v.size, 0);
  log(`detkit-train: ${config.model} (${(params / 1e6).toFixed(2)}M parameters) on ${data.description} (${data.train.length} train / ${data.val.length} val images, ${classes.length} classes), ${config.imageSize} px, batch ${config.batchSize}, ${config.epochs} epochs x ${stepsPerEpoch} steps, ${config.optimizer} lr ${config.lr} ${config.schedule}, backend ${backend}, seed ${config.seed} -> ${out}`);

  const epochs: EpochRecord[] = [];
  let checkpoint = (await latestCheckpoint(out)) ?? '';
  const lines = await readMetricLines(metricsFile);
  const recordLine = async (record: StepRecord | EpochRecord) => {
    const line = JSON.stringify(record);
    lines.push(line);
    await appendFile(metricsFile, `${line}\n`);
  };
  const useBar = config.progress && process.stderr.isTTY === true;
  let averageStep = NaN;
  let evalSeconds = NaN;

  for (let epoch = state.epoch; epoch < config.epochs; epoch++) {
    const bar = useBar
      ? new SingleBar({
          format: `epoch {epoch}/${config.epochs} [{bar}] {value}/{total} | {sps} steps/s | ETA epoch {eta_formatted}, run {run_eta} | loss {loss} ({parts})`,
          barsize: 24,
          hideCursor: true,
          etaBuffer: 20,
          stream: process.stderr,
        })
      : null;
    bar?.start(stepsPerEpoch, 0, { epoch: epoch + 1, sps: '-', run_eta: '?', loss: '-', parts: '' });
    const sums: Record<string, number> = {};
    let lossSum = 0;
    let count = 0;
    const epochStart = performance.now();
    let last = performance.now();
    for await (const batch of train.epoch(epoch)) {
      const parts: Record<string, number> = {};
      let loss: number;
      try {
        const lr = learningRate(schedule, state.step, totalSteps, stepsPerEpoch);
        setLearningRate(optimizer, lr);
        let kept: Record<string, tf.Scalar> = {};
        const cost = optimizer.minimize(
          () => {
            const l = detector.loss(batch.images, batch.targets, { rng });
            kept = Object.fromEntries(Object.entries(l.parts).map(([k, v]) => [k, tf.keep(v)]));
            return l.total;
          },
          true,
          variables,
        ) as tf.Scalar;
        loss = (await cost.data())[0] as number;
        for (const [k, v] of Object.entries(kept)) parts[k] = ((await v.data())[0] as number);
        tf.dispose([cost, ...Object.values(kept)]);
        const now = performance.now();
        const seconds = (now - last) / 1000;
        last = now;
        state = { ...state, step: state.step + 1 };
        const record: StepRecord = { type: 'step', epoch, step: state.step, lr, loss, parts, stepsPerSecond: 1 / seconds };
        await recordLine(record);
        await hooks.onStep?.(record);
        lossSum += loss;
        count++;
        for (const [k, v] of Object.entries(parts)) sums[k] = (sums[k] ?? 0) + v;
        averageStep = Number.isNaN(averageStep) ? seconds : 0.9 * averageStep + 0.1 * seconds;
        const remaining = totalSteps - state.step;
        const runEta = remaining * averageStep + (config.epochs - epoch) * (Number.isNaN(evalSeconds) ? 0 : evalSeconds);
        bar?.update(count, { sps: (1 / averageStep).toFixed(2), run_eta: formatDuration(runEta), loss: loss.toFixed(3), parts: formatParts(parts) });
      } finally {
        batch.dispose();
      }
    }
    bar?.stop();
    const trainSeconds = state.trainSeconds + (performance.now() - epochStart) / 1000;
    const evalStart = performance.now();
    const evaluation = await evaluateDetector(detector, val, classes, config.draw);
    evalSeconds = (performance.now() - evalStart) / 1000;
    const mean = (v: number) => (count > 0 ? v / count : NaN);
    const record: EpochRecord = {
      type: 'epoch',
      epoch,
      step: state.step,
      loss: mean(lossSum),
      parts: Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, mean(v)])),
      map: evaluation.map,
      perClass: evaluation.perClass,
      trainSeconds,
      evalSeconds,
      stepsPerSecond: count / ((evalStart - epochStart) / 1000),
      load: loadavg()[0] ?? 0,
      backend,
    };
    await recordLine(record);
    epochs.push(record);
    log(
      `epoch ${epoch + 1}/${config.epochs}: loss ${record.loss.toFixed(3)} (${formatParts(record.parts)}), ${record.stepsPerSecond.toFixed(2)} steps/s, ` +
        `VOC mAP@0.5 ${evaluation.map.toFixed(4)} (eval ${evalSeconds.toFixed(1)} s), trained ${formatDuration(trainSeconds)}, load ${record.load.toFixed(1)}`,
    );
    log(evaluation.table);
    await writeDrawings(out, evaluation, classes);
    await writePlots(out, lines);
    state = { ...state, epoch: epoch + 1, rng: rng.state(), metricsLines: lines.length, trainSeconds };
    checkpoint = await writeCheckpoint(out, detector, optimizer, state);
    await hooks.onEpoch?.(record);
  }
  // The final model, also in tfjs format, where detkit-detect looks first.
  const modelDir = path.join(out, 'model');
  await mkdir(modelDir, { recursive: true });
  await writeModel(modelDir, detector, classes);
  disposeOptimizer(optimizer);
  const finalMap = epochs[epochs.length - 1]?.map ?? (await lastEpochMap(lines));
  log(`done: VOC mAP@0.5 ${finalMap.toFixed(4)}; checkpoint ${checkpoint}; model ${modelDir}; metrics ${metricsFile}; plots ${path.join(out, 'loss.png')}`);
  return { out, epochs, finalMap, checkpoint, detector };
}

async function lastEpochMap(lines: readonly string[]): Promise<number> {
  const epochs = lines.map((l) => JSON.parse(l) as StepRecord | EpochRecord).filter((r): r is EpochRecord => r.type === 'epoch');
  return epochs[epochs.length - 1]?.map ?? NaN;
}
