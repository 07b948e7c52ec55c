/**
 * Saving and restoring a tfjs optimizer exactly, and setting its learning rate: what a training loop with
 * checkpoints needs beyond the detector's weights.
 */
import { InvalidArgumentError, numberOption, tf } from '@detkit/core';

/** A named tensor, as tfjs optimizers' `getWeights()` / `setWeights()` take them. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/** Adam's running beta powers (private fields in tfjs 4.22). */
interface BetaPowers {
  accBeta1?: tf.Variable;
  accBeta2?: tf.Variable;
}

const BETA_POWERS = ['accBeta1', 'accBeta2'] as const;
/** Prefix of the entries {@link optimizerState} adds to tfjs's weights (no tfjs slot name starts with it). */
const EXTRA_PREFIX = '__';

function optimizerArgument(op: string, optimizer: unknown): tf.Optimizer {
  const o = optimizer as Partial<tf.Optimizer> | null;
  if (o === null || typeof o !== 'object' || typeof o.getWeights !== 'function' || typeof o.setWeights !== 'function') {
    throw new InvalidArgumentError(op, 'optimizer', `must be a tfjs optimizer (tf.train.*), got ${o === null ? 'null' : typeof o}`);
  }
  return o as tf.Optimizer;
}

/**
 * Sets the learning rate of the optimizer's next step; tfjs's optimizers have no common setter (SGD and
 * momentum have `setLearningRate`, which also rebuilds their cached scalar; Adam and the others read the
 * `learningRate` field at each step).
 *
 * @param optimizer - A tfjs optimizer (`tf.train.sgd`, `momentum`, `adam`, ...).
 * @param lr - The new learning rate, a finite number >= 0.
 */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  const op = 'setLearningRate';
  const o = optimizerArgument(op, optimizer);
  numberOption(op, 'lr', lr, { min: 0 });
  // (tfjs's Optimizer[Symbol.hasInstance] makes every optimizer `instanceof SGDOptimizer`: test the method.)
  const sgd = o as unknown as { setLearningRate?: (lr: number) => void };
  if (typeof sgd.setLearningRate === 'function') sgd.setLearningRate(lr);
  else (o as unknown as { learningRate: number }).learningRate = lr;
}

/**
 * A snapshot of the optimizer's state that {@link restoreOptimizerState} restores exactly: tfjs's
 * `getWeights()` (the step count `iter`, then the slots in variable order, e.g. Adam's `${name}/m` and
 * `${name}/v`, momentum's `${name}/momentum`), plus Adam's running beta powers as `__accBeta1` and
 * `__accBeta2`. tfjs's own `setWeights` recomputes those as beta^(t + 1), which differs in the last bits
 * from the product Adam accumulates step by step, so a run resumed from `getWeights()` alone drifts from
 * an uninterrupted one; with them, the next steps are bit-identical.
 *
 * Every tensor returned is a copy the caller owns (the data is shared until the optimizer's next step,
 * nothing is downloaded): dispose them when done, e.g. after `tf.io.encodeWeights(state)` has read them.
 *
 * @param optimizer - A tfjs optimizer whose `getWeights` is implemented (SGD, momentum, Adam, Adagrad,
 *   Adadelta, RMSProp).
 * @returns The state as named tensors, ready for `tf.io.encodeWeights`.
 */
export async function optimizerState(optimizer: tf.Optimizer): Promise<NamedTensor[]> {
  const o = optimizerArgument('optimizerState', optimizer);
  const weights = await o.getWeights();
  // The step count is a fresh scalar; the slots are the optimizer's variables, so they are copied.
  const state = weights.map(({ name, tensor }, i) => ({ name, tensor: i === 0 ? tensor : tf.clone(tensor) }));
  const powers = o as unknown as BetaPowers;
  for (const key of BETA_POWERS) {
    const v = powers[key];
    if (v) state.push({ name: `${EXTRA_PREFIX}${key}`, tensor: tf.clone(v) });
  }
  return state;
}

/**
 * Restores a state saved by {@link optimizerState} (or tfjs's `getWeights()`, which tfjs then completes
 * with its own rounding) into an optimizer of the same kind, used on the same variables in the same order.
 * The slots are keyed by position, as in tfjs. Slots the optimizer already had are replaced and disposed.
 * The tensors of `state` stay the caller's (they are copied; dispose them when done).
 *
 * @param optimizer - A tfjs optimizer of the kind that saved `state` (its learning rate is not part of
 *   the state: set it, e.g. with {@link setLearningRate}).
 * @param state - Named tensors from {@link optimizerState}, e.g. decoded with `tf.io.decodeWeights`.
 * @throws InvalidArgumentError naming `state` for a state that is not a list of named tensors, or that
 *   holds Adam's beta powers while `optimizer` has none.
 */
export async function restoreOptimizerState(optimizer: tf.Optimizer, state: readonly NamedTensor[]): Promise<void> {
  const op = 'restoreOptimizerState';
  const o = optimizerArgument(op, optimizer);
  if (!Array.isArray(state) || !state.every((e) => e !== null && typeof e === 'object' && typeof e.name === 'string' && e.tensor instanceof tf.Tensor && !e.tensor.isDisposed)) {
    throw new InvalidArgumentError(op, 'state', 'must be a list of { name, tensor } with live tensors, as optimizerState returns');
  }
  const powers = o as unknown as BetaPowers;
  const extras = state.filter((e) => e.name.startsWith(EXTRA_PREFIX));
  for (const { name } of extras) {
    const key = name.slice(EXTRA_PREFIX.length) as (typeof BETA_POWERS)[number];
    if (!BETA_POWERS.includes(key) || powers[key] === undefined) {
      throw new InvalidArgumentError(op, 'state', `holds '${name}', which this optimizer does not have (was it saved from another kind of optimizer?)`);
    }
  }
  // tfjs's setWeights replaces the slot variables without disposing the old ones.
  const previous = await o.getWeights();
  await o.setWeights(state.filter((e) => !e.name.startsWith(EXTRA_PREFIX)));
  tf.dispose(previous.map((e) => e.tensor));
  for (const { name, tensor } of extras) powers[name.slice(EXTRA_PREFIX.length) as (typeof BETA_POWERS)[number]]!.assign(tensor);
}

/**
 * Disposes a tfjs optimizer and every tensor it holds. `optimizer.dispose()` alone leaks one tensor for
 * `tf.train.momentum` in tfjs 4.22: `MomentumOptimizer.dispose()` frees its slots and momentum scalar but
 * not the negated learning-rate scalar `c` that it inherits from `SGDOptimizer` (whose own `dispose()`
 * frees it). For every other optimizer this is `optimizer.dispose()`.
 *
 * @param optimizer - A tfjs optimizer (`tf.train.sgd`, `momentum`, `adam`, ...); unusable afterwards.
 */
export function disposeOptimizer(optimizer: tf.Optimizer): void {
  const o = optimizerArgument('disposeOptimizer', optimizer);
  const cached = (o as unknown as { c?: tf.Tensor }).c;
  const hasOwnScalar = (o as unknown as { m?: tf.Tensor }).m !== undefined;
  o.dispose();
  // Momentum (and Nesterov) keep `m`; plain SGD's dispose() already freed `c`.
  if (hasOwnScalar && cached !== undefined && !cached.isDisposed) cached.dispose();
}
