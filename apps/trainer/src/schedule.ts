/** Learning-rate schedules: linear warmup, then cosine decay, step decay or constant. */

/** How the learning rate changes over a run. */
export interface LrSchedule {
  /** `'cosine'`: from `lr` to 0 over the run (Loshchilov & Hutter 2017, no restarts); `'step'`: times `gamma` at each of `milestones`; `'constant'`. */
  kind: 'cosine' | 'step' | 'constant';
  /** Peak learning rate. */
  lr: number;
  /** Steps of linear warmup from lr / warmupSteps to lr (Goyal et al. 2017). */
  warmupSteps: number;
  /** `'step'`: epochs at which the rate is multiplied by `gamma`. */
  milestones?: readonly number[];
  /** `'step'`: the factor. Default 0.1. */
  gamma?: number;
}

/**
 * The learning rate at optimizer step `step` (0-based): linear warmup over the first `warmupSteps`, then the
 * schedule at `done` of `total` (steps done of the steps planned, or training seconds spent of the time
 * budget) or, for `'step'`, at `epoch`.
 */
export function scheduledRate(schedule: LrSchedule, at: { step: number; done: number; total: number; epoch: number }): number {
  const warm = schedule.warmupSteps > 0 ? Math.min(1, (at.step + 1) / schedule.warmupSteps) : 1;
  let factor = 1;
  if (schedule.kind === 'cosine') {
    factor = 0.5 * (1 + Math.cos((Math.PI * Math.min(Math.max(0, at.done), at.total)) / Math.max(Number.MIN_VALUE, at.total)));
  } else if (schedule.kind === 'step') {
    const passed = (schedule.milestones ?? []).filter((m) => at.epoch >= m).length;
    factor = (schedule.gamma ?? 0.1) ** passed;
  }
  return schedule.lr * warm * factor;
}

/** The learning rate of `step` (0-based) in a run of `totalSteps` steps of `stepsPerEpoch` each. */
export function learningRate(schedule: LrSchedule, step: number, totalSteps: number, stepsPerEpoch: number): number {
  return scheduledRate(schedule, { step, done: step, total: Math.max(1, totalSteps), epoch: Math.floor(step / Math.max(1, stepsPerEpoch)) });
}
