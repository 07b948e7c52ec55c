import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '@detkit/core';
import type { BackendName } from '@detkit/backends';
import type { OptimizerName } from './optimizer';
import type { LrSchedule } from './schedule';

/** The models the trainer builds. */
export type ModelName = 'ssd' | 'faster-rcnn';

/** Everything a training run is made of. Defaults: {@link defaultConfig}; a config file and flags override them. */
export interface TrainConfig {
  /** Which detector. */
  model: ModelName;
  /**
   * The data: `'synthetic'` (the built-in 'quick' set, rendered on demand), `'synthetic:hard'`, a folder in
   * COCO layout (`annotations/instances_{train,val}.json`, images in `train/` and `val/`, as `@detkit/data`'s
   * `writeSynthetic` writes it), or a Pascal VOC devkit folder (`ImageSets/Main/{train,val}.txt`).
   */
  data: string;
  /** Model input side in pixels (square; images are letterboxed). */
  imageSize: number;
  batchSize: number;
  epochs: number;
  optimizer: OptimizerName;
  /** Peak learning rate. */
  lr: number;
  /** Momentum of `'sgd'`. */
  momentum: number;
  /** Learning-rate schedule after warmup. */
  schedule: LrSchedule['kind'];
  warmupSteps: number;
  /** `'step'` schedule: epochs at which the rate drops by 10x. */
  milestones: number[];
  /** Probability of a horizontal flip of each training image. */
  flip: number;
  backend: BackendName;
  /** Seed of weight initialisation, data order, augmentation and sampling. */
  seed: number;
  /** Output folder: checkpoints, metrics.jsonl, loss.png, detections/. */
  out: string;
  /** Continue from the last checkpoint in `out`. */
  resume: boolean;
  /** Use only the first N training images (0 = all): quick runs and tests. */
  trainLimit: number;
  /** Use only the first N validation images (0 = all). */
  valLimit: number;
  /** Validation images drawn with their detections after each evaluation. */
  draw: number;
  /** Show the progress bar (only on a terminal). */
  progress: boolean;
  /** Options passed to the model factory (`createSsd` / `createFasterRcnn` of @detkit/models), e.g. `{ "backbone": { "channels": [...] } }`. */
  modelOptions: Record<string, unknown>;
}

/** The defaults of each model: what `detkit-train` (SSD) and `detkit-train --model faster-rcnn` run. */
export function defaultConfig(model: ModelName = 'ssd'): TrainConfig {
  const common = {
    data: 'synthetic',
    imageSize: 128,
    optimizer: 'adam' as const,
    momentum: 0.9,
    schedule: 'cosine' as const,
    milestones: [],
    flip: 0.5,
    backend: 'wasm' as const,
    seed: 0,
    out: 'runs/latest',
    resume: false,
    trainLimit: 0,
    valLimit: 0,
    draw: 8,
    progress: true,
    modelOptions: {},
  };
  // Measured on the synthetic 'quick' set on 2 shared cores (see the README): SSD passes VOC mAP@0.5 0.9 in
  // its 4th epoch, Faster R-CNN in its 2nd.
  if (model === 'faster-rcnn') return { ...common, model, batchSize: 8, epochs: 4, lr: 2e-3, warmupSteps: 100 };
  return { ...common, model, batchSize: 16, epochs: 6, lr: 4e-3, warmupSteps: 50 };
}

const KEYS = Object.keys(defaultConfig()) as (keyof TrainConfig)[];

function fail(argument: string, problem: string): never {
  throw new InvalidArgumentError('detkit-train', argument, problem);
}

/** Checks a merged configuration; throws an `InvalidArgumentError` naming the first bad field. */
export function validateConfig(c: TrainConfig): TrainConfig {
  for (const key of Object.keys(c)) if (!KEYS.includes(key as keyof TrainConfig)) fail(key, `is not a configuration field (fields: ${KEYS.join(', ')})`);
  if (c.model !== 'ssd' && c.model !== 'faster-rcnn') fail('model', `must be 'ssd' or 'faster-rcnn', got ${JSON.stringify(c.model)}`);
  const int = (k: keyof TrainConfig, min: number) => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(k, `must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  };
  int('imageSize', 16);
  int('batchSize', 1);
  int('epochs', 1);
  int('warmupSteps', 0);
  int('seed', 0);
  int('trainLimit', 0);
  int('valLimit', 0);
  int('draw', 0);
  if (!(typeof c.lr === 'number' && c.lr > 0 && Number.isFinite(c.lr))) fail('lr', `must be a positive number, got ${JSON.stringify(c.lr)}`);
  if (!(typeof c.momentum === 'number' && c.momentum >= 0 && c.momentum < 1)) fail('momentum', `must be in [0, 1), got ${JSON.stringify(c.momentum)}`);
  if (!(typeof c.flip === 'number' && c.flip >= 0 && c.flip <= 1)) fail('flip', `must be a probability in [0, 1], got ${JSON.stringify(c.flip)}`);
  if (c.optimizer !== 'adam' && c.optimizer !== 'sgd') fail('optimizer', `must be 'adam' or 'sgd', got ${JSON.stringify(c.optimizer)}`);
  if (!['cosine', 'step', 'constant'].includes(c.schedule)) fail('schedule', `must be 'cosine', 'step' or 'constant', got ${JSON.stringify(c.schedule)}`);
  if (!Array.isArray(c.milestones) || !c.milestones.every((m) => Number.isInteger(m) && m > 0)) fail('milestones', `must be a list of positive epoch numbers, got ${JSON.stringify(c.milestones)}`);
  if (!['wasm', 'cpu', 'gpu', 'auto', 'webgl', 'webgpu'].includes(c.backend)) fail('backend', `must be 'wasm', 'cpu', 'gpu' or 'auto', got ${JSON.stringify(c.backend)}`);
  if (typeof c.data !== 'string' || c.data.length === 0) fail('data', 'must be a folder or "synthetic"');
  if (typeof c.out !== 'string' || c.out.length === 0) fail('out', 'must be a folder');
  if (c.modelOptions === null || typeof c.modelOptions !== 'object' || Array.isArray(c.modelOptions)) fail('modelOptions', 'must be an object');
  return c;
}

/** Reads a JSON configuration file (any subset of {@link TrainConfig}'s fields). */
export async function readConfigFile(file: string): Promise<Partial<TrainConfig>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new InvalidArgumentError('detkit-train', 'config', `cannot read ${file} (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value as Partial<TrainConfig>;
  } catch (cause) {
    throw new InvalidArgumentError('detkit-train', 'config', `${file} is not a JSON object (${(cause as Error).message})`);
  }
}
