// The training worker: its own TensorFlow.js, a detector from @detkit/models, the built-in synthetic set
// through @detkit/data's loader, Adam, and @detkit/backends' useBackend to move between WebGPU, WebGL, WASM
// and CPU between two steps. Weights and Adam's slots are tfjs variables: they stay valid across the swap
// (tfjs moves each one's data to the new backend when it is first used there).
//
// On WebGPU the step reads nothing back from the GPU until the loss is awaited: a browser has no
// synchronous GPU read (tfjs goes through a canvas, which headless Chromium on SwiftShader loses the device
// on). So there the value checks (which read tensors to find NaN or x2 < x1) are off, the detector builds its
// targets on the host and mines on the device, the loss is checked for NaN once awaited, and evaluation
// (whose detect reads its boxes synchronously) runs on WASM.
import { assertGpuContext, createRandom, setValueChecks, tf } from '@detkit/core';
import { createLoader, syntheticSource, type Batch, type Loader } from '@detkit/data';
import { evaluateVoc, type Detections, type GroundTruth } from '@detkit/eval';
import { adam, createFasterRcnn, createSsd, disposeOptimizer, saveDetector, trainableVariables, type FasterRcnn, type Ssd } from '@detkit/models';
import { startBackend } from './backend';
import type { ExportedModel, PlaygroundBackend, Reply, Request, StepEvent, TrainSetup, WorkerEvent } from './train-protocol';

const scope = self as unknown as { postMessage(message: unknown, transfer?: Transferable[]): void; onmessage: ((e: MessageEvent) => void) | null };

interface Run {
  setup: TrainSetup;
  detector: Ssd | FasterRcnn;
  optimizer: tf.Optimizer;
  loader: Loader;
  batches: AsyncGenerator<Batch, void, undefined>;
  epoch: number;
  step: number;
  rng: () => number;
  classes: string[];
}

let run: Run | undefined;
let wasmPaths = '';
let running = false;
let stopAt = 0;
let pendingBackend: PlaygroundBackend | undefined;
let loop: Promise<void> | undefined;

function emit(event: WorkerEvent): void {
  scope.postMessage(event);
}

/** Backends on which the step must not read GPU data synchronously. */
const NO_SYNC_READS: readonly string[] = ['webgpu'];

async function switchBackend(name: PlaygroundBackend): Promise<void> {
  await startBackend(name, wasmPaths);
  setValueChecks(!NO_SYNC_READS.includes(tf.getBackend()));
  emit({ type: 'backend', backend: tf.getBackend(), step: run?.step ?? 0 });
}

/** Runs `fn` on WASM when the active backend cannot read synchronously, then returns to it. */
async function withSyncReads<T>(fn: () => Promise<T>): Promise<T> {
  const active = tf.getBackend() as PlaygroundBackend;
  if (!NO_SYNC_READS.includes(active)) return fn();
  await startBackend('wasm', wasmPaths);
  setValueChecks(true);
  try {
    return await fn();
  } finally {
    await startBackend(active, wasmPaths);
    setValueChecks(false);
  }
}

async function setup(s: TrainSetup, backend: PlaygroundBackend): Promise<void> {
  await stop();
  disposeRun();
  await switchBackend(backend);
  const source = s.data ? s.data.samples : syntheticSource({ split: 'train', ...(s.trainImages > 0 ? { count: s.trainImages } : {}) });
  const classes = s.data ? s.data.classes : (source as { classes: readonly string[] }).classes;
  const numClasses = classes.length;
  const detector =
    s.model === 'ssd'
      ? createSsd({ numClasses, imageSize: s.imageSize, backbone: { channels: s.channels }, seed: s.seed })
      : createFasterRcnn({ numClasses, imageSize: s.imageSize, backbone: { channels: s.channels }, seed: s.seed });
  const loader = createLoader({ source, imageSize: s.imageSize, batchSize: Math.min(s.batchSize, source.length), flip: 0.5, seed: s.seed });
  run = {
    setup: s,
    detector,
    optimizer: s.optimizer === 'momentum' ? tf.train.momentum(s.learningRate, 0.9) : adam(s.learningRate),
    loader,
    batches: loader.epoch(0),
    epoch: 0,
    step: 0,
    rng: createRandom(s.seed),
    classes: [...classes],
  };
}

function disposeRun(): void {
  if (run === undefined) return;
  disposeOptimizer(run.optimizer);
  run.detector.dispose();
  void run.batches.return(undefined);
  run = undefined;
}

async function nextBatch(r: Run): Promise<Batch> {
  for (;;) {
    const next = await r.batches.next();
    if (!next.done) return next.value;
    r.epoch += 1;
    r.batches = r.loader.epoch(r.epoch);
  }
}

async function trainStep(r: Run): Promise<StepEvent> {
  const t0 = performance.now();
  const batch = await nextBatch(r);
  let parts: Record<string, tf.Scalar> = {};
  let loss: number;
  try {
    const cost = r.optimizer.minimize(
      () => {
        const l = r.detector.loss(batch.images, batch.targets, { rng: r.rng });
        parts = Object.fromEntries(Object.entries(l.parts).map(([k, v]) => [k, tf.keep(v)]));
        return l.total;
      },
      true,
      trainableVariables(r.detector),
    );
    loss = (await cost!.data())[0]!;
    cost!.dispose();
  } finally {
    batch.dispose();
  }
  const values: Record<string, number> = {};
  for (const [k, v] of Object.entries(parts)) {
    values[k] = (await v.data())[0]!;
    v.dispose();
  }
  // A WebGL context the browser lost (a GPU reset) reads back zeros: say so rather than plot a loss of 0.
  assertGpuContext('train step');
  if (!Number.isFinite(loss)) throw new Error(`the loss of step ${r.step + 1} is ${loss} on ${tf.getBackend()}: lower the learning rate`);
  r.step += 1;
  return { type: 'step', step: r.step, loss, parts: values, ms: performance.now() - t0, backend: tf.getBackend() };
}

async function evaluate(r: Run): Promise<{ map: number; perClass: { ap: number }[]; ms: number }> {
  return withSyncReads(() => evaluateHere(r));
}

async function evaluateHere(r: Run): Promise<{ map: number; perClass: { ap: number }[]; ms: number }> {
  const t0 = performance.now();
  const source = r.setup.data ? r.setup.data.samples : syntheticSource({ split: 'val', count: r.setup.valImages });
  const val = createLoader({ source, imageSize: r.setup.imageSize, batchSize: 8, shuffle: false });
  const gts: GroundTruth[] = [];
  const dets: Detections[] = [];
  for await (const batch of val.epoch(0)) {
    try {
      const found = r.detector.detect(batch.images);
      found.forEach((d, i) => {
        dets.push({ boxes: d.boxes, scores: d.scores, labels: d.labels });
        gts.push({ boxes: batch.targets[i]!.boxes, labels: batch.targets[i]!.labels, difficult: batch.targets[i]!.difficult });
      });
    } finally {
      batch.dispose();
    }
  }
  const result = evaluateVoc(gts, dets);
  return { map: result.map, perClass: result.perClass.map((c) => ({ ap: c.ap })), ms: performance.now() - t0 };
}

async function trainLoop(): Promise<void> {
  emit({ type: 'state', running: true, step: run?.step ?? 0 });
  try {
    while (running && run !== undefined && run.step < stopAt) {
      if (pendingBackend !== undefined) {
        const name = pendingBackend;
        pendingBackend = undefined;
        await switchBackend(name);
      }
      const event = await trainStep(run);
      emit(event);
      if (run.setup.evalEvery > 0 && run.step % run.setup.evalEvery === 0) {
        const e = await evaluate(run);
        emit({ type: 'eval', step: run.step, ...e });
      }
    }
  } finally {
    running = false;
    emit({ type: 'state', running: false, step: run?.step ?? 0 });
  }
}

async function stop(): Promise<void> {
  running = false;
  await loop;
}

async function handle(request: Request): Promise<unknown> {
  switch (request.type) {
    case 'setup':
      wasmPaths = request.wasmPaths;
      await setup(request.setup, request.backend);
      return { backend: tf.getBackend(), variables: Object.keys(run!.detector.variables).length };
    case 'run': {
      if (run === undefined) throw new Error('set a model up first');
      await stop();
      running = true;
      stopAt = run.step + request.steps;
      loop = trainLoop();
      await loop;
      return { step: run.step };
    }
    case 'pause':
      await stop();
      return { step: run?.step ?? 0 };
    case 'backend':
      if (running) {
        pendingBackend = request.backend;
        return { queued: true };
      }
      await switchBackend(request.backend);
      return { backend: tf.getBackend() };
    case 'weights': {
      if (run === undefined) throw new Error('no model');
      await stop();
      const out: Record<string, Float32Array> = {};
      for (const [k, v] of Object.entries(run.detector.variables)) out[k] = (await v.data()) as Float32Array;
      return out;
    }
    case 'evaluate': {
      if (run === undefined) throw new Error('no model');
      await stop();
      const e = await evaluate(run);
      emit({ type: 'eval', step: run.step, ...e });
      return e;
    }
    case 'export': {
      if (run === undefined) throw new Error('no model');
      await stop();
      let artifacts: tf.io.ModelArtifacts | undefined;
      await saveDetector(
        run.detector,
        tf.io.withSaveHandler(async (a) => {
          artifacts = a;
          return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
        }),
      );
      const exported: ExportedModel = { artifacts: artifacts!, classes: run.classes };
      return exported;
    }
  }
}

scope.onmessage = (e: MessageEvent<{ id: number; request: Request }>) => {
  const { id, request } = e.data;
  handle(request).then(
    (result) => scope.postMessage({ type: 'reply', id, result } satisfies Reply),
    (error: unknown) => scope.postMessage({ type: 'reply', id, error: String((error as Error)?.message ?? error) } satisfies Reply),
  );
};
