// Shared by the trainer's tests: the tiny run they all train.
import { defaultConfig, type TrainConfig } from './config';

/** A backbone small enough for CI (about 20k parameters). */
export const TINY_BACKBONE = { backbone: { channels: [8, 16, 16, 24, 32] } };

/** A run small enough for CI: 16 training images of 64 px, batches of 8, so 2 steps per epoch, 2 epochs. */
export function tinyConfig(out: string, overrides: Partial<TrainConfig> = {}): TrainConfig {
  return {
    ...defaultConfig('ssd'),
    imageSize: 64,
    batchSize: 8,
    epochs: 2,
    trainLimit: 16,
    valLimit: 8,
    lr: 0.01,
    warmupSteps: 1,
    draw: 2,
    progress: false,
    out,
    modelOptions: TINY_BACKBONE,
    ...overrides,
  };
}
