// Messages between the page and the training worker.
import type { DetectionSample } from '@detkit/data';
import type { io } from '@tensorflow/tfjs-core';

/** The backends of the menu: tfjs's WebGPU, WebGL, WASM (with detkit's training kernels) and plain JS CPU. */
export type PlaygroundBackend = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export const PLAYGROUND_BACKENDS: readonly PlaygroundBackend[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** What to train. */
export interface TrainSetup {
  model: 'ssd' | 'faster-rcnn';
  /** Square input size in pixels (synthetic images are 128 px, letterboxed to it). */
  imageSize: number;
  batchSize: number;
  /** Backbone stage widths (5 stages for SSD, 3 for Faster R-CNN). */
  channels: number[];
  /**
   * 'adam' (the default, as detkit-train), or 'momentum' (SGD with momentum 0.9): its step is linear in
   * the gradient, so two backends' float32 rounding differences stay as small as they are instead of being
   * scaled up by Adam's normalisation where a gradient is near zero.
   */
  optimizer: 'adam' | 'momentum';
  /** The optimizer's learning rate. */
  learningRate: number;
  seed: number;
  /** Training images of the built-in synthetic set to cycle through (0: all 2,000). */
  trainImages: number;
  /** Validation images for mAP. */
  valImages: number;
  /** Evaluate every this many steps (0: only when asked). */
  evalEvery: number;
  /**
   * The user's own images with their boxes (decoded, from a COCO file) and class names, instead of the
   * built-in set; mAP is then measured on these same images.
   */
  data?: { samples: DetectionSample[]; classes: string[] };
}

/** The page's default SSD: 0.2M parameters, 96 px inputs, batch 8 (fast enough to watch on a CPU). */
export const DEFAULT_SETUP: Readonly<TrainSetup> = Object.freeze({
  model: 'ssd',
  imageSize: 96,
  batchSize: 8,
  channels: [16, 24, 32, 64, 96],
  optimizer: 'adam',
  learningRate: 3e-3,
  seed: 0,
  trainImages: 0,
  valImages: 32,
  evalEvery: 50,
});

export type Request =
  | { type: 'setup'; setup: TrainSetup; backend: PlaygroundBackend; wasmPaths: string }
  | { type: 'run'; steps: number }
  | { type: 'pause' }
  | { type: 'backend'; backend: PlaygroundBackend }
  | { type: 'weights' }
  | { type: 'evaluate' }
  | { type: 'export' };

/** One training step's record. */
export interface StepEvent {
  type: 'step';
  step: number;
  loss: number;
  parts: Record<string, number>;
  /** Wall time of the step (data, forward, backward, update, reading the loss), ms. */
  ms: number;
  backend: string;
}

export interface EvalEvent {
  type: 'eval';
  step: number;
  map: number;
  perClass: { ap: number }[];
  ms: number;
}

export type WorkerEvent =
  | StepEvent
  | EvalEvent
  | { type: 'backend'; backend: string; step: number }
  | { type: 'state'; running: boolean; step: number }
  | { type: 'log'; text: string };

export type Reply = { type: 'reply'; id: number; result?: unknown; error?: string };

/** A detector exported from the worker: tfjs artifacts plus class names. */
export interface ExportedModel {
  artifacts: io.ModelArtifacts;
  classes: string[];
}
