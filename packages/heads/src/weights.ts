/**
 * Creating a head's variables with torchvision's initialisations, and the object every head shares
 * (name, variables, save / load / dispose). Not exported from the package.
 */
import { InvalidArgumentError, integerOption, tf } from '@detkit/core';
import { loadHeadWeights, saveHeadWeights, type HeadWeights } from './head-weights';

/** How a parameter is initialised. */
export type Init =
  /** N(0, std^2): torch.nn.init.normal_(std=...), RPNHead's convs (std 0.01). */
  | { kind: 'normal'; std: number }
  /** U(-bound, bound): torch's default Linear init (bound 1 / sqrt(fan_in)) and xavier_uniform_. */
  | { kind: 'uniform'; bound: number }
  /** Zeros: torch.nn.init.constant_(bias, 0). */
  | { kind: 'zeros' };

/** One parameter of a head. */
export interface ParamSpec {
  key: string;
  shape: number[];
  init: Init;
}

/**
 * torch.nn.Linear's default init (`kaiming_uniform_(a=sqrt(5))` for the weight, U(±1/sqrt(fan_in)) for
 * the bias): both U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
 */
export function torchLinearInit(fanIn: number): Init {
  return { kind: 'uniform', bound: 1 / Math.sqrt(fanIn) };
}

/** torch.nn.init.xavier_uniform_ (gain 1) of a conv kernel [kh, kw, in, out]: U(±sqrt(6 / (fan_in + fan_out))). */
export function xavierUniformInit(shape: readonly number[]): Init {
  const [kh, kw, cin, cout] = shape as [number, number, number, number];
  const receptive = kh * kw;
  return { kind: 'uniform', bound: Math.sqrt(6 / (cin * receptive + cout * receptive)) };
}

/** The common options of every head factory. */
export interface HeadCommonOptions {
  /**
   * Prefix of the variables' names in tfjs (`${name}/${key}`). Default: the head kind's default name
   * (`'rpn_head'`, `'box_head'`, `'ssd_head'`), with `_1`, `_2`, ... appended while that is taken.
   * An explicit name that is already taken is an error.
   */
  name?: string;
  /**
   * Seed of the initialisers, any integer (its low 32 bits are used; 0 included): the same seed gives
   * the same weights on every backend, different seeds different weights. Every parameter draws from its
   * own stream. Default: unseeded (random), as torch.
   */
  seed?: number;
}

function nameTaken(name: string): boolean {
  const registered = tf.engine().registeredVariables;
  const prefix = `${name}/`;
  return Object.keys(registered).some((n) => n.startsWith(prefix));
}

/** Resolves a head's name (see {@link HeadCommonOptions.name}). */
export function headName(op: string, base: string, name: unknown): string {
  if (name !== undefined) {
    if (typeof name !== 'string' || name.length === 0 || name.includes('/')) {
      throw new InvalidArgumentError(op, 'name', `must be a non-empty string without '/', got ${JSON.stringify(name)}`);
    }
    if (nameTaken(name)) throw new InvalidArgumentError(op, 'name', `'${name}' is taken by another head's variables (dispose it, or pick another name)`);
    return name;
  }
  let candidate = base;
  for (let i = 1; nameTaken(candidate); i++) candidate = `${base}_${i}`;
  return candidate;
}

/** Parameters a head may have with distinct seeds: far more than any head has. */
const PARAMETER_SEED_STRIDE = 2 ** 20;

/**
 * The tfjs seed of parameter `index` of a head seeded with `seed`: (seed mod 2^32) * 2^20 + index + 1,
 * an integer in [1, 2^52], distinct for every (seed, index < 2^20) pair. Never 0: tfjs's random
 * initialisers read their seed as `seed ? seed : Math.random()` (tfjs-core 4.22), so 0 would be unseeded.
 */
export function parameterSeed(seed: number, index: number): number {
  return (seed >>> 0) * PARAMETER_SEED_STRIDE + index + 1;
}

function initialValue(spec: ParamSpec, seed: number | undefined): tf.Tensor {
  const { shape, init } = spec;
  switch (init.kind) {
    case 'normal':
      return tf.randomNormal(shape, 0, init.std, 'float32', seed);
    case 'uniform':
      return tf.randomUniform(shape, -init.bound, init.bound, 'float32', seed);
    case 'zeros':
      return tf.zeros(shape, 'float32');
  }
}

/**
 * Most values one head parameter may hold: 2^27 (512 MiB of float32; VGG16's fc6, the largest classic
 * detection layer, has 1.03e8).
 * Channel and size options that would make a larger one (a `midChannels` of 1e30) are an
 * InvalidArgumentError naming `options` and the parameter, before any variable is created.
 */
export const MAX_PARAMETER_SIZE = 2 ** 27;

/** Creates the trainable variables `${name}/${key}` of `specs`, initialised as each spec says. */
export function createVariables(op: string, name: string, specs: readonly ParamSpec[], seed: number | undefined): Record<string, tf.Variable> {
  if (seed !== undefined) integerOption(op, 'seed', seed);
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (!(size <= MAX_PARAMETER_SIZE)) {
      throw new InvalidArgumentError(op, 'options', `make parameter '${spec.key}' of shape [${spec.shape.join(', ')}] (${size} values), more than MAX_PARAMETER_SIZE (2^27)`);
    }
  }
  const variables: Record<string, tf.Variable> = {};
  tf.tidy(() => {
    specs.forEach((spec, i) => {
      variables[spec.key] = tf.variable(initialValue(spec, seed === undefined ? undefined : parameterSeed(seed, i)), true, `${name}/${spec.key}`, 'float32');
    });
  });
  return variables;
}

/** The {@link HeadWeights} part of a head: kind, name, variables, config, save / load / dispose. */
export function headWeights<C extends object>(kind: string, name: string, variables: Record<string, tf.Variable>, config: C): HeadWeights & { readonly config: C } {
  const head: HeadWeights & { readonly config: C } = {
    kind,
    name,
    variables,
    config,
    save: (destination) => saveHeadWeights(head, destination),
    load: (source) => loadHeadWeights(head, source),
    dispose: () => {
      for (const v of Object.values(variables)) if (!v.isDisposed) v.dispose();
    },
  };
  return head;
}
