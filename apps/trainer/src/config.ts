import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { InvalidArgumentError } from '@detkit/core';
import { BACKEND_NAMES, type BackendName } from '@detkit/backends';
import type { OptimizerName } from './optimizer';
import type { LrSchedule } from './schedule';

/**
 * The models the trainer builds: detkit's SSD and Faster R-CNN, and torchvision's SSDlite320 on
 * MobileNetV3-Large and Faster R-CNN models (`@detkit/torchvision`), which fine-tune from torchvision's
 * weights (`weights`).
 */
export type ModelName = 'ssd' | 'faster-rcnn' | TorchvisionModelName;

/** torchvision's models (`@detkit/torchvision`): `weights` and `trainableBackboneLayers` apply to them. */
export type TorchvisionModelName = 'ssdlite320-mobilenet-v3-large' | TorchvisionFasterRcnnName;

/** torchvision's Faster R-CNN models, by @detkit/torchvision's `FASTER_RCNN_KINDS`. */
export type TorchvisionFasterRcnnName = 'fasterrcnn-mobilenet-v3-large-320-fpn' | 'fasterrcnn-mobilenet-v3-large-fpn' | 'fasterrcnn-resnet50-fpn';

/** torchvision's Faster R-CNN model names, in `--model`'s order. */
export const TORCHVISION_FASTER_RCNN_MODELS = ['fasterrcnn-mobilenet-v3-large-320-fpn', 'fasterrcnn-mobilenet-v3-large-fpn', 'fasterrcnn-resnet50-fpn'] as const satisfies readonly TorchvisionFasterRcnnName[];

/** The model names, in `--model`'s order. */
export const MODELS = ['ssd', 'faster-rcnn', 'ssdlite320-mobilenet-v3-large', ...TORCHVISION_FASTER_RCNN_MODELS] as const satisfies readonly ModelName[];

/** Whether `model` is one of torchvision's Faster R-CNN models. */
export function isTorchvisionFasterRcnn(model: ModelName): model is TorchvisionFasterRcnnName {
  return (TORCHVISION_FASTER_RCNN_MODELS as readonly string[]).includes(model);
}

/** Whether `model` is one of torchvision's (`@detkit/torchvision`). */
export function isTorchvisionModel(model: ModelName): model is TorchvisionModelName {
  return model === 'ssdlite320-mobilenet-v3-large' || isTorchvisionFasterRcnn(model);
}

/** Largest model input side the trainer accepts, in pixels (a 4096 x 4096 batch of 8 is 400 MB of float32 input alone). */
export const MAX_IMAGE_SIZE = 4096;

/** The backends `--backend` takes: every name @detkit/backends' `useBackend` knows (`BACKEND_NAMES`). */
export const BACKENDS = BACKEND_NAMES;

/**
 * Training-time augmentation: `'ssd'` is torchvision's SSD recipe (photometric distortion, zoom-out, IoU crop,
 * flip; Liu et al. 2016 sec. 2.2), `'ssdlite'` its SSDlite recipe (IoU crop, flip), `'flip'` horizontal flips only,
 * `'none'` nothing; `'auto'`: `'ssd'` for SSD on real data trained for at least {@link LONG_RUN_SECONDS} or
 * {@link LONG_RUN_EPOCHS} epochs, `'flip'` otherwise (see `resolveRun`).
 */
export type AugmentName = 'auto' | 'ssd' | 'ssdlite' | 'flip' | 'none';

/**
 * Training time from which `augment: 'auto'` gives SSD its own augmentation: 30 minutes. Below it flips win:
 * on a look-alike set of the trainer README, 128 px, about 280 s of training, COCO AP50 0.185 with flips
 * against 0.122 with `'ssdlite'` and 0.046 with `'ssd'` (IoU crops and zoom-out make each epoch harder;
 * torchvision's SSD recipe runs them for 120+ epochs).
 */
export const LONG_RUN_SECONDS = 1800;
/** Epoch count from which `augment: 'auto'` gives SSD its own augmentation (see {@link LONG_RUN_SECONDS}). */
export const LONG_RUN_EPOCHS = 30;
/** SSD's `batchSize: 'auto'` on the built-in synthetic set (its tuned default, see the README). */
export const SSD_SYNTHETIC_BATCH_SIZE = 16;
/**
 * SSD's `batchSize: 'auto'` on other data: on a time budget, twice the steps of half the images each learn
 * faster at the same images per second (look-alike set la3, 300 s: COCO AP50 0.505 at batch 8, 0.382 at 16).
 */
export const SSD_DATA_BATCH_SIZE = 8;
/** SSD's `lr: 'auto'` (Adam's peak rate) on the built-in synthetic set, where it was tuned at batch 16. */
export const SSD_SYNTHETIC_LR = 4e-3;
/**
 * SSD's `lr: 'auto'` on other data, at batch {@link SSD_DATA_BATCH_SIZE}: COCO AP50 after 300 s on three
 * look-alike sets, 8e-3 against 4e-3: 0.547 / 0.505 (la3), 0.171 / 0.159 (la2), 0.470 / 0.366 (la1);
 * 1.6e-2 was better on la3 (0.600) and worse on la1 (0.448).
 */
export const SSD_DATA_LR = 8e-3;

const positiveInt = z.number().int().min(1);
const nonNegativeInt = z.number().int().min(0);

/**
 * The configuration schema: every field a config file or a flag may set, with its type and range. Unknown
 * keys are errors naming the key (a misspelled field never silently falls back to its default).
 */
export const trainConfigSchema = z.strictObject({
  /** Which detector. */
  model: z.enum(MODELS),
  /**
   * torchvision weights to start from (torchvision's models only): a safetensors state dict, e.g.
   * converted from torchvision's COCO `.pth` with @detkit/torchvision's `pth_to_safetensors.py`. Weights of
   * another class count keep everything but the class-dependent layers (the log names them). null: random.
   */
  weights: z.string().min(1).nullable(),
  /**
   * `trainable_backbone_layers` of torchvision's models (0-6 for the MobileNetV3 ones, 0-5 for ResNet-50, which
   * its factory checks); null: the model's default (all; 3 with `modelOptions.frozenBatchNorm`).
   */
  trainableBackboneLayers: z.number().int().min(0).max(6).nullable(),
  /**
   * The data: `'synthetic'` (the built-in 'quick' set), `'synthetic:hard'`, a COCO folder (see the README's
   * layouts), a Pascal VOC devkit folder, or `''` when `trainAnnotations` is given.
   */
  data: z.string(),
  /** COCO instances file of the training split; with it, `data` is ignored. */
  trainAnnotations: z.string().min(1).nullable(),
  /** Folder the training annotations' `file_name`s are relative to (default: found beside the file). */
  trainImages: z.string().min(1).nullable(),
  valAnnotations: z.string().min(1).nullable(),
  valImages: z.string().min(1).nullable(),
  /** VOC: the class names in label order (default: the names found in the training split, sorted). */
  classes: z.array(z.string().min(1)).min(1).nullable(),
  /** Fraction of the training images held out when the data has no validation split (default 0.1 then). */
  valSplit: z.number().gt(0).lt(1).nullable(),
  /** A bad image or record: `'throw'` stops the run naming it; `'skip'` leaves it out and reports it. */
  onInvalid: z.enum(['throw', 'skip']),
  /** Model input side in pixels (square; images are letterboxed); `'auto'`: from the data (see the README). */
  imageSize: z.union([z.literal('auto'), z.number().int().min(16).max(MAX_IMAGE_SIZE)]),
  /** Images per step; `'auto'` (SSD's default): 16 on the synthetic set, {@link SSD_DATA_BATCH_SIZE} on other data. */
  batchSize: z.union([z.literal('auto'), positiveInt]),
  /** Epochs; `'auto'`: 6 (SSD) / 4 (Faster R-CNN) on the synthetic set, else no epoch limit (the time budget ends the run). */
  epochs: z.union([z.literal('auto'), positiveInt]),
  /** Training-time budget in seconds (evaluation excluded), 0 for none; `'auto'`: none on the synthetic set, 600 (SSD) / 900 (Faster R-CNN) s on other data. The schedule is fitted to it. */
  time: z.union([z.literal('auto'), z.number().min(0)]),
  /** Stop after this many steps in all (0: no limit). */
  maxSteps: nonNegativeInt,
  optimizer: z.enum(['adam', 'sgd']),
  /** Peak learning rate; `'auto'` (SSD's default): {@link SSD_SYNTHETIC_LR} on the synthetic set, {@link SSD_DATA_LR} on other data. */
  lr: z.union([z.literal('auto'), z.number().gt(0).max(10)]),
  /** Momentum of `'sgd'`. */
  momentum: z.number().min(0).lt(1),
  /** Decoupled weight decay per step (AdamW style, times the learning rate); 0 for none. */
  weightDecay: z.number().min(0).lt(1),
  /** Learning-rate schedule after warmup. */
  schedule: z.enum(['cosine', 'step', 'constant']),
  warmupSteps: nonNegativeInt,
  /** `'step'` schedule: epochs at which the rate drops by 10x. */
  milestones: z.array(positiveInt),
  /** Probability of a horizontal flip of each training image. */
  flip: z.number().min(0).max(1),
  augment: z.enum(['auto', 'ssd', 'ssdlite', 'flip', 'none']),
  backend: z.enum(BACKENDS),
  /**
   * Switch to another backend at the start of an epoch (1-based), keeping weights, optimizer state and RNG:
   * `{ epoch: 3, backend: 'webgpu' }` (flag `--switch-backend-at 3:webgpu`); null for none.
   */
  switchBackendAt: z.strictObject({ epoch: z.number().int().min(1), backend: z.enum(BACKENDS) }).nullable(),
  /** Threads of the wasm backend's convolutions and matrix products (its threaded SIMD build); `'auto'`: every core. */
  threads: z.union([z.literal('auto'), z.number().int().min(1).max(256)]),
  /** Worker threads that make (the synthetic set) or decode, then augment and resize the images (0: in the training thread); `'auto'`: 1. */
  workers: z.union([z.literal('auto'), nonNegativeInt]),
  /** Seed of weight initialisation, data order, augmentation and sampling. */
  seed: z.number().int().min(0).max(2 ** 31 - 1),
  /** Output folder: checkpoints, metrics.jsonl, plots, detections. */
  out: z.string().min(1),
  /** Continue from the last checkpoint in `out`. */
  resume: z.boolean(),
  /** Clear the trainer's outputs of another run in `out` first (without it, a folder holding a run is an error); not with `resume`. */
  overwrite: z.boolean(),
  /** Use only the first N training images (0 = all): quick runs and tests. */
  trainLimit: nonNegativeInt,
  /** Use only the first N validation images (0 = all). */
  valLimit: nonNegativeInt,
  /** Validation images drawn with their detections after each evaluation. */
  draw: nonNegativeInt,
  /** Show the progress bar (only on a terminal). */
  progress: z.boolean(),
  /** Options passed to the model factory (`createSsd` / `createFasterRcnn` of @detkit/models), after the data-derived defaults. */
  modelOptions: z.record(z.string(), z.unknown()),
});

/** Everything a training run is made of. Defaults: {@link defaultConfig}; a config file and flags override them. */
export interface TrainConfig extends z.infer<typeof trainConfigSchema> {
  model: ModelName;
  optimizer: OptimizerName;
  schedule: LrSchedule['kind'];
  backend: BackendName;
  augment: AugmentName;
}

/** The defaults of each model: what `detkit-train` (SSD) and `detkit-train --model faster-rcnn` run. */
export function defaultConfig(model: ModelName = 'ssd'): TrainConfig {
  const common = {
    data: 'synthetic',
    trainAnnotations: null,
    trainImages: null,
    valAnnotations: null,
    valImages: null,
    classes: null,
    valSplit: null,
    onInvalid: 'throw' as const,
    imageSize: 'auto' as const,
    epochs: 'auto' as const,
    time: 'auto' as const,
    maxSteps: 0,
    optimizer: 'adam' as const,
    momentum: 0.9,
    weightDecay: 0,
    schedule: 'cosine' as const,
    milestones: [],
    flip: 0.5,
    augment: 'auto' as const,
    backend: 'wasm' as const,
    threads: 'auto' as const,
    switchBackendAt: null,
    workers: 'auto' as const,
    seed: 0,
    out: 'runs/latest',
    resume: false,
    overwrite: false,
    trainLimit: 0,
    valLimit: 0,
    draw: 8,
    progress: true,
    modelOptions: {},
    weights: null,
    trainableBackboneLayers: null,
  };
  // Measured on the synthetic 'quick' set on 2 shared cores (see the README): SSD passes VOC mAP@0.5 0.9 in
  // its 4th epoch, Faster R-CNN in its 2nd.
  if (model === 'faster-rcnn') return { ...common, model, batchSize: 8, lr: 2e-3, warmupSteps: 100 };
  // torchvision's SSDlite recipe (references/detection: SGD lr 0.15 at batch 192, momentum 0.9, weight decay
  // 4e-5, cosine) scaled linearly to batch 8; not tuned here.
  if (model === 'ssdlite320-mobilenet-v3-large') return { ...common, model, batchSize: 8, optimizer: 'sgd', lr: 0.00625, weightDecay: 4e-5, warmupSteps: 50 };
  // torchvision's Faster R-CNN recipe (references/detection: SGD lr 0.02 at batch 16, momentum 0.9, weight
  // decay 1e-4) scaled linearly to batch 4; not tuned here.
  if (isTorchvisionFasterRcnn(model)) return { ...common, model, batchSize: 4, optimizer: 'sgd', lr: 0.02 * (4 / 16), weightDecay: 1e-4, warmupSteps: 100 };
  return { ...common, model, batchSize: 'auto' as const, lr: 'auto' as const, warmupSteps: 50 };
}

/** The configuration's field names. */
export const CONFIG_KEYS = Object.keys(trainConfigSchema.shape) as (keyof TrainConfig)[];

/** A one-line English reason for a schema issue: what the value must be. */
function reason(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_union': {
      // 'auto' | number fields: report the number branch's problem (the literal's mismatch says nothing).
      const branches = issue.errors.flat();
      const inner = branches.find((i) => i.code !== 'invalid_value') ?? branches[0];
      const auto = branches.some((i) => i.code === 'invalid_value' && i.values.includes('auto'));
      return inner ? `${reason(inner)}${auto ? " (or 'auto')" : ''}` : issue.message;
    }
    case 'too_small':
      return `must be ${issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)}${issue.origin === 'array' ? ' items' : ''}`;
    case 'too_big':
      return `must be ${issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)}${issue.origin === 'array' ? ' items' : ''}`;
    case 'invalid_type':
      return `must be ${issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`}`;
    case 'invalid_value':
      return `must be ${issue.values.map((v) => JSON.stringify(v)).join(', ').replace(/, ([^,]*)$/, ' or $1')}`;
    default:
      return issue.message;
  }
}

function describeIssue(issue: z.core.$ZodIssue): { field: string; problem: string } {
  const field = issue.path.map(String).join('.') || 'config';
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    return { field: issue.path.length ? `${field}.${key}` : key, problem: `is not a configuration field (fields: ${CONFIG_KEYS.join(', ')})` };
  }
  return { field, problem: reason(issue) };
}

/** Checks a merged configuration; throws an `InvalidArgumentError` naming the first bad field (its path for nested ones). */
export function validateConfig(c: TrainConfig): TrainConfig {
  const result = trainConfigSchema.safeParse(c);
  if (!result.success) {
    const issue = result.error.issues[0] as z.core.$ZodIssue;
    const { field, problem } = describeIssue(issue);
    throw new InvalidArgumentError('detkit-train', field, `${problem}, got ${JSON.stringify(valueAt(c, issue.path))}`);
  }
  const v = result.data as TrainConfig;
  if (v.data === '' && v.trainAnnotations === null) throw new InvalidArgumentError('detkit-train', 'data', 'must be a folder or "synthetic" (or give --train-annotations)');
  return v;
}

function valueAt(obj: unknown, keys: readonly PropertyKey[]): unknown {
  let v: unknown = obj;
  for (const k of keys) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** Reads a JSON configuration file (any subset of {@link TrainConfig}'s fields; checked when merged). */
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

/**
 * Parses a duration: seconds as a number, or text like `600`, `90s`, `10m`, `1h30m`, `1.5h`.
 * @returns seconds
 */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const re = /(\d+(?:\.\d+)?)\s*(h|m|s)/gy;
  let total = 0;
  let matched = 0;
  for (const m of t.matchAll(re)) {
    total += Number(m[1]) * ({ h: 3600, m: 60, s: 1 } as const)[m[2] as 'h' | 'm' | 's'];
    matched += m[0].length;
  }
  if (matched !== t.length || t.length === 0) throw new Error(`'${text}' is not a duration (e.g. 600, 90s, 10m, 1h30m)`);
  return total;
}
