import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { freemem, loadavg } from 'node:os';
import path from 'node:path';
import { SingleBar } from 'cli-progress';
import { backendInfo, useBackend } from '@detkit/backends';
import { createRandom, InvalidArgumentError, tf } from '@detkit/core';
import { createLoader, toCoco, type DetectionSample, type LoaderOptions } from '@detkit/data';
import { createWorkerPool, loadImageFile, type WorkerPool } from '@detkit/data/node';
import { createFasterRcnn, disposeOptimizer, createSsd, setLearningRate, trainableVariables, type Detector, type DetectorConfig } from '@detkit/models';
import { fasterRcnnDetector, registerTorchvisionDetectors, ssdliteDetector, type FasterRcnnDetector, type SsdliteDetector, type SsdliteDetectorOptions } from '@detkit/torchvision';
import { latestCheckpoint, writeCheckpoint, writeFinalModel, type RunState, type WriteProbe } from './checkpoint';
import { isTorchvisionFasterRcnn, type TrainConfig } from './config';
import { openData } from './dataset';
import { drawDetections } from './draw';
import { evaluateDetector, formatCocoTable, type CocoSummary, type Evaluation } from './evaluate';
import { createOptimizer } from './optimizer';
import { smooth, writePlot } from './plot';
import { resolveRun, type ResolvedRun } from './recipe';
import { openRunFolder, resumeRun } from './run-folder';
import { scheduledRate } from './schedule';

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
  /** Seconds this step waited for its batch (input pipeline not keeping up; 0 when the batch was ready). */
  dataWait: number;
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
  /** VOC AP@0.5 per class name. */
  perClass: Record<string, number>;
  /** COCO metrics on the validation split (pycocotools' algorithm; -1 where undefined). */
  coco: CocoSummary;
  /** COCO AP per class name. */
  cocoPerClass: Record<string, number>;
  /** Training seconds of the run so far (evaluation excluded). */
  trainSeconds: number;
  evalSeconds: number;
  /** Mean steps per second of the epoch. */
  stepsPerSecond: number;
  /** Share of the epoch's training time the steps spent waiting for input (see `StepRecord.dataWait`). */
  dataWaitFraction: number;
  /** 1-minute load average of the machine at the end of the epoch (other processes share the CPU). */
  load: number;
  backend: string;
}

// torchvision's detectors are rebuilt from checkpoints through @detkit/models' registry.
registerTorchvisionDetectors();

/** Hooks for tests and embedding: called after each step and epoch; throwing stops the run there (as a crash would). */
export interface RunHooks {
  log?: (line: string) => void;
  onStep?: (record: StepRecord) => void | Promise<void>;
  onEpoch?: (record: EpochRecord) => void | Promise<void>;
  /** Called after each file of a checkpoint or of model/ is written (the fault tests stop the process there). */
  onWrite?: WriteProbe;
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

/** Builds the detector of a configuration (its `'auto'` fields resolved), seeded. */
export function buildDetector(config: TrainConfig, run: Pick<ResolvedRun, 'imageSize' | 'modelOptions'>, numClasses: number): Detector<DetectorConfig> {
  if (config.model === 'ssdlite320-mobilenet-v3-large') {
    const options = { ...run.modelOptions, numClasses, seed: config.seed, ...(config.trainableBackboneLayers !== null ? { trainableBackboneLayers: config.trainableBackboneLayers } : {}) };
    return ssdliteDetector(options as SsdliteDetectorOptions) as unknown as Detector<DetectorConfig>;
  }
  if (isTorchvisionFasterRcnn(config.model)) {
    const modelOptions = { ...run.modelOptions, ...(config.trainableBackboneLayers !== null ? { trainableBackboneLayers: config.trainableBackboneLayers } : {}) };
    return fasterRcnnDetector({ kind: config.model, numClasses, imageSize: run.imageSize, modelOptions, seed: config.seed }) as unknown as Detector<DetectorConfig>;
  }
  const options = { ...run.modelOptions, numClasses, imageSize: run.imageSize, seed: config.seed };
  return config.model === 'ssd' ? createSsd(options) : createFasterRcnn(options);
}

/**
 * Loads `config.weights` (a torchvision safetensors state dict) into a torchvision detector: everything but
 * the class-dependent layers when the class count differs (those keep their fresh values and are logged).
 */
async function loadStartWeights(config: TrainConfig, detector: Detector<DetectorConfig>, log: (line: string) => void): Promise<void> {
  if (config.weights === null) return;
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(config.weights));
  } catch (cause) {
    throw new InvalidArgumentError('detkit-train', 'weights', `${config.weights}: could not be read (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`);
  }
  const report = (detector as unknown as SsdliteDetector | FasterRcnnDetector).model.loadStateDict(bytes, { reinitialiseClassLayers: true });
  log(`  weights: ${report.loaded.length} entries from ${config.weights}`);
  if (report.reinitialised.length > 0) log(`  weights: the class count differs; re-initialised ${report.reinitialised.join(', ')}`);
}

/** The loader options of an augmentation recipe (see `TrainConfig.augment`). */
function augmentOptions(augment: ResolvedRun['augment'], flip: number): Partial<LoaderOptions> {
  if (augment === 'none') return {};
  if (augment === 'flip') return { flip };
  return { flip, augment };
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

/** Writes loss.png (smoothed total and parts per step) and map.png (mAP per epoch), each with an .svg beside it. */
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
  await writePlot(path.join(out, 'loss.png'), series, { title: `training loss (moving average of ${window} steps)`, xLabel: 'step', yLabel: 'loss (log scale)', logY: true });
  const map = [
    { name: 'VOC mAP@0.5', points: epochs.map((e) => [e.epoch + 1, e.map] as const) },
    { name: 'COCO AP50', points: epochs.filter((e) => e.coco).map((e) => [e.epoch + 1, e.coco.ap50] as const) },
    { name: 'COCO AP', points: epochs.filter((e) => e.coco).map((e) => [e.epoch + 1, e.coco.ap] as const) },
    { name: 'COCO AR@100', points: epochs.filter((e) => e.coco).map((e) => [e.epoch + 1, e.coco.ar100] as const) },
  ];
  await writePlot(path.join(out, 'map.png'), map, { title: 'validation AP', xLabel: 'epoch', width: 600, height: 360 });
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
 * Trains a detector as `config` says: opens the data, resolves the `'auto'` fields from it (image size, default
 * boxes or anchors, augmentation, time budget; printed), builds (or, with `resume`, restores) the detector,
 * optimizer and RNG, and trains until the epoch, time or step limit. After each epoch: evaluation on the
 * validation split (VOC mAP@0.5 and the COCO metrics, per-class table), metrics.jsonl, plots, drawn detections,
 * the validation detections as a COCO results file, and an atomic checkpoint.
 * `--backend gpu` without a GPU fails here, before any work, with @detkit/backends' error.
 */
export async function runTraining(config: TrainConfig, hooks: RunHooks = {}): Promise<RunSummary> {
  const log = hooks.log ?? ((line: string) => console.log(line));
  const backend = await useBackend(config.backend, config.threads === 'auto' ? {} : { threads: config.threads });
  let currentBackend = backend;
  const info = backendInfo();
  const backendText = info.threads !== null && info.device === 'cpu' ? `${backend} (${info.threads} thread${info.threads === 1 ? '' : 's'}${info.simd ? ', SIMD' : ''})` : info.adapter ? `${backend} (${info.adapter.description || info.adapter.vendor}${info.adapter.software ? ', software' : ''})` : backend;
  const data = await openData({
    data: config.data,
    ...(config.trainAnnotations !== null ? { trainAnnotations: config.trainAnnotations } : {}),
    ...(config.trainImages !== null ? { trainImages: config.trainImages } : {}),
    ...(config.valAnnotations !== null ? { valAnnotations: config.valAnnotations } : {}),
    ...(config.valImages !== null ? { valImages: config.valImages } : {}),
    ...(config.classes !== null ? { classes: config.classes } : {}),
    ...(config.valSplit !== null ? { valSplit: config.valSplit } : {}),
    seed: config.seed,
    onInvalid: config.onInvalid,
    trainLimit: config.trainLimit,
    valLimit: config.valLimit,
  });
  const classes = [...data.classes];
  const run = await resolveRun(config, data.train, !data.fromFiles);
  const out = config.out;
  // The run's folder: refuses one holding another run (unless --overwrite), removes a killed write's leftovers.
  const folder = await openRunFolder(config, log);
  const metricsFile = path.join(out, 'metrics.jsonl');

  const detector = buildDetector(config, run, classes.length);
  const variables = trainableVariables(detector);
  // Decoupled weight decay (Loshchilov & Hutter 2019) on the weight matrices and kernels, not on biases and
  // batch-norm parameters (rank 1), as detectron2 and torchvision's references leave those undecayed.
  const decayed = variables.filter((v) => v.rank >= 2);
  const optimizer = createOptimizer(config.optimizer, run.lr, config.momentum);
  const rng = createRandom(config.seed);
  let state: RunState = { version: 3, runId: folder.runId, epoch: 0, step: 0, rng: rng.state(), metricsLines: 0, trainSeconds: 0, config, classes, categoryIds: data.categoryIds === null ? null : [...data.categoryIds] };

  if (!config.resume) await loadStartWeights(config, detector, log);
  if (config.resume) {
    // The newest intact checkpoint of this folder's run, its configuration checked against this one's.
    const saved = await resumeRun(folder, config, classes, { detector, optimizer, rng, metricsFile }, log);
    if (saved !== null) state = { ...saved, config };
  } else {
    await writeFile(metricsFile, '');
  }

  // Images are made (the synthetic set) or decoded, then augmented and resized beside the step: in `workers`
  // threads, or with `workers: 0` in the training thread between its kernels. Decoded image files are cached
  // while they fit (a third of the free memory, at most 4 GiB), so later epochs skip reading and decoding.
  const cacheBytes = data.fromFiles ? Math.floor(Math.min(4 * 2 ** 30, freemem() / 3)) : 0;
  const pool: WorkerPool | null = run.workers > 0 ? createWorkerPool({ threads: run.workers, cacheBytes }) : null;
  const input: Partial<LoaderOptions> = pool !== null ? { executor: pool } : data.fromFiles ? { loadImage: loadImageFile, cacheBytes } : {};
  const train = createLoader({
    source: data.train,
    imageSize: run.imageSize,
    batchSize: run.batchSize,
    seed: config.seed,
    dropLast: data.train.length >= run.batchSize,
    onInvalid: config.onInvalid,
    ...augmentOptions(run.augment, config.flip),
    ...input,
  });
  const val = createLoader({ source: data.val, imageSize: run.imageSize, batchSize: Math.max(run.batchSize, 32), shuffle: false, onInvalid: config.onInvalid, ...input });
  try {
    const valSamples = new Map<number | string, DetectionSample>();
    for (let i = 0; i < data.val.length; i++) {
      const sample = await data.val.get(i);
      valSamples.set(sample.id, sample);
    }
    const stepsPerEpoch = train.batchesPerEpoch;
    const plannedSteps = Math.min(run.epochs === null ? Infinity : stepsPerEpoch * run.epochs, run.maxSteps > 0 ? run.maxSteps : Infinity);
    const schedule = { kind: config.schedule, lr: run.lr, warmupSteps: config.warmupSteps, milestones: config.milestones };
    const params = variables.reduce((s, v) => s + v.size, 0);
    const limits = [run.epochs !== null ? `${run.epochs} epochs` : '', run.time > 0 ? `${run.time} s` : '', run.maxSteps > 0 ? `${run.maxSteps} steps` : ''].filter((x) => x).join(' or ');
    log(
      `detkit-train: ${config.model} (${(params / 1e6).toFixed(2)}M parameters) on ${data.description}: ${data.train.length} train / ${data.val.length} val images, ` +
        `${classes.length} classes (${classes.join(', ')}); ${run.imageSize} px, batch ${run.batchSize}, ${stepsPerEpoch} steps per epoch, ${limits || 'no limit'}, ` +
        `${config.optimizer} lr ${run.lr} ${config.schedule}, augment ${run.augment}, backend ${backendText}, seed ${config.seed} -> ${out}`,
    );
    for (const note of run.notes) log(`  ${note}`);
    if (data.skipped.count > 0) {
      log(`  skipped ${data.skipped.count} bad record(s) or image(s) (--on-invalid skip), e.g.:`);
      for (const e of data.skipped.examples.slice(0, 5)) log(`    ${e.file}: ${e.record}: ${e.problem}`);
    }
    // COCO image id of each validation sample: its own id for COCO data; for other data (VOC's file stems, the
    // synthetic set) the ids of the val-annotations.json written here, so val-results.json scores against it.
    const cocoImageIds = new Map<number | string, number | string>();
    if (data.categoryIds === null) {
      const samples = Array.from(valSamples.values());
      const gt = toCoco({ classes, samples });
      samples.forEach((s, i) => cocoImageIds.set(s.id, gt.images[i]!.id));
      await writeFile(path.join(out, 'val-annotations.json'), JSON.stringify(gt));
    }

    const epochs: EpochRecord[] = [];
    let checkpoint = (await latestCheckpoint(out, folder.runId)) ?? '';
    const lines = await readMetricLines(metricsFile);
    const recordLine = async (record: StepRecord | EpochRecord) => {
      const line = JSON.stringify(record);
      lines.push(line);
      await appendFile(metricsFile, `${line}\n`);
    };
    const useBar = config.progress && process.stderr.isTTY === true;
    let averageStep = NaN;
    let evalSeconds = NaN;
    const timeLeft = (trainSeconds: number) => (run.time > 0 ? run.time - trainSeconds : Infinity);
    const finished = () => state.step >= plannedSteps || timeLeft(state.trainSeconds) <= 0 || (run.epochs !== null && state.epoch >= run.epochs);
    // Where the run stands on its schedule: steps done of the planned steps, or seconds spent of the budget.
    const progress = (trainSeconds: number) => {
      const byTime = run.time > 0 ? trainSeconds / run.time : 0;
      const bySteps = Number.isFinite(plannedSteps) ? state.step / plannedSteps : 0;
      return byTime > bySteps ? { done: trainSeconds, total: run.time } : { done: state.step, total: Number.isFinite(plannedSteps) ? plannedSteps : 1 };
    };

    for (let epoch = state.epoch; !finished(); epoch++) {
      const switchTo = config.switchBackendAt;
      if (switchTo !== null && epoch + 1 === switchTo.epoch && currentBackend !== switchTo.backend) {
        // tfjs moves each variable and optimizer slot to the new backend when it is next read; the RNG is ours.
        currentBackend = await useBackend(switchTo.backend, config.threads === 'auto' ? {} : { threads: config.threads });
        log(`epoch ${epoch + 1}: switched backend to ${currentBackend} (weights, optimizer state and RNG kept)`);
      }
      const epochTotal = run.epochs ?? '?';
      const bar = useBar
        ? new SingleBar({
            format: `epoch {epoch}/${epochTotal} [{bar}] {value}/{total} | {sps} steps/s | ETA epoch {eta_formatted}, run {run_eta} | loss {loss} ({parts})`,
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
      let waitSum = 0;
      const epochStart = performance.now();
      const trainBefore = state.trainSeconds;
      const elapsed = () => trainBefore + (performance.now() - epochStart) / 1000;
      let last = performance.now();
      let waitFrom = performance.now();
      for await (const batch of train.epoch(epoch)) {
        const dataWait = (performance.now() - waitFrom) / 1000;
        const parts: Record<string, number> = {};
        let loss: number;
        try {
          const lr = scheduledRate(schedule, { step: state.step, epoch, ...progress(elapsed()) });
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
          if (config.weightDecay > 0) decayWeights(decayed, lr * config.weightDecay);
          const now = performance.now();
          const seconds = (now - last) / 1000;
          last = now;
          state = { ...state, step: state.step + 1 };
          const record: StepRecord = { type: 'step', epoch, step: state.step, lr, loss, parts, stepsPerSecond: 1 / seconds, dataWait };
          await recordLine(record);
          await hooks.onStep?.(record);
          lossSum += loss;
          waitSum += dataWait;
          count++;
          for (const [k, v] of Object.entries(parts)) sums[k] = (sums[k] ?? 0) + v;
          averageStep = Number.isNaN(averageStep) ? seconds : 0.9 * averageStep + 0.1 * seconds;
          const stepsLeft = Math.min(plannedSteps - state.step, timeLeft(elapsed()) / averageStep);
          const runEta = stepsLeft * averageStep + (Number.isNaN(evalSeconds) ? 0 : evalSeconds * Math.max(1, stepsLeft / stepsPerEpoch));
          bar?.update(count, { sps: (1 / averageStep).toFixed(2), run_eta: formatDuration(runEta), loss: loss.toFixed(3), parts: formatParts(parts) });
        } finally {
          batch.dispose();
        }
        if (state.step >= plannedSteps || timeLeft(elapsed()) <= 0) break;
        waitFrom = performance.now();
      }
      bar?.stop();
      const trainSeconds = elapsed();
      const evalStart = performance.now();
      const evaluation = await evaluateDetector(detector, val, valSamples, { classes, categoryIds: data.categoryIds, keep: config.draw });
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
        coco: evaluation.coco,
        cocoPerClass: evaluation.cocoPerClass,
        trainSeconds,
        evalSeconds,
        stepsPerSecond: count / ((evalStart - epochStart) / 1000),
        dataWaitFraction: waitSum / Math.max(1e-9, trainSeconds - trainBefore),
        load: loadavg()[0] ?? 0,
        backend: currentBackend,
      };
      await recordLine(record);
      epochs.push(record);
      const c = evaluation.coco;
      log(
        `epoch ${epoch + 1}${run.epochs !== null ? `/${run.epochs}` : ''}: loss ${record.loss.toFixed(3)} (${formatParts(record.parts)}), ${record.stepsPerSecond.toFixed(2)} steps/s (input wait ${(100 * record.dataWaitFraction).toFixed(1)}%), ` +
          `COCO AP ${c.ap.toFixed(3)} AP50 ${c.ap50.toFixed(3)}, VOC mAP@0.5 ${evaluation.map.toFixed(4)} (eval ${evalSeconds.toFixed(1)} s), trained ${formatDuration(trainSeconds)}, load ${record.load.toFixed(1)}`,
      );
      log(formatCocoTable(c));
      log(evaluation.table);
      if (train.skipped.count + val.skipped.count > 0) log(`image reads skipped so far (--on-invalid skip; a bad image counts each time an epoch or evaluation reads it): ${train.skipped.count} training, ${val.skipped.count} validation`);
      await writeDrawings(out, evaluation, classes);
      const results = evaluation.results.map((r) => ({ ...r, image_id: cocoImageIds.get(r.image_id) ?? r.image_id }));
      await writeFile(path.join(out, 'val-results.json'), JSON.stringify(results));
      await writePlots(out, lines);
      state = { ...state, epoch: epoch + 1, rng: rng.state(), metricsLines: lines.length, trainSeconds };
      checkpoint = await writeCheckpoint(out, detector, optimizer, state, hooks.onWrite);
      await hooks.onEpoch?.(record);
    }
    // The final model, also in tfjs format, where detkit-detect looks first.
    const modelDir = await writeFinalModel(out, detector, { classes, categoryIds: data.categoryIds, runId: folder.runId, epoch: state.epoch, step: state.step }, hooks.onWrite);
    disposeOptimizer(optimizer);
    const last = epochs[epochs.length - 1];
    const finalMap = last?.map ?? (await lastEpochMap(lines));
    const finalCoco = last?.coco;
    log(
      `done: ${finalCoco ? `COCO AP ${finalCoco.ap.toFixed(4)} AP50 ${finalCoco.ap50.toFixed(4)}, ` : ''}VOC mAP@0.5 ${finalMap.toFixed(4)}; checkpoint ${checkpoint}; model ${modelDir}; ` +
        `metrics ${metricsFile}; COCO results ${path.join(out, 'val-results.json')}; plots ${path.join(out, 'loss.png')}`,
    );
    return { out, epochs, finalMap, checkpoint, detector };
  } finally {
    // Worker threads keep the process alive: closed on every way out, errors included.
    await pool?.close();
  }
}

/** Multiplies each variable by (1 - rate): decoupled weight decay after an optimizer step. */
function decayWeights(variables: readonly tf.Variable[], rate: number): void {
  tf.tidy(() => {
    for (const v of variables) v.assign(tf.mul(v, 1 - rate));
  });
}

async function lastEpochMap(lines: readonly string[]): Promise<number> {
  const epochs = lines.map((l) => JSON.parse(l) as StepRecord | EpochRecord).filter((r): r is EpochRecord => r.type === 'epoch');
  return epochs[epochs.length - 1]?.map ?? NaN;
}
