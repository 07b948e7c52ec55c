// The replica module of data-parallel.test.ts (bundled by esbuild, run by startDataParallel's workers),
// and, imported normally, the same network for the single-process reference.
import { tf } from '@detkit/core';
import { runReplica } from '../../src/data-parallel';

/** A shard: NHWC images [n, 8, 8, 3] and regression targets [n, 4], as host arrays. */
export interface Shard {
  images: Float32Array;
  targets: Float32Array;
  n: number;
  /** Makes this replica's loss throw (the failure test). */
  fail?: boolean;
}

/** conv 3x3 s2 (3→8) → batch norm (batch statistics, moving statistics updated) → ReLU → dense (4·4·8→4). */
export function buildNet(seed: number) {
  const kernel = tf.variable(tf.randomNormal([3, 3, 3, 8], 0, 0.3, 'float32', seed), true, `dp/${seed}/kernel`);
  const gamma = tf.variable(tf.ones([8]), true, `dp/${seed}/gamma`);
  const beta = tf.variable(tf.zeros([8]), true, `dp/${seed}/beta`);
  const dense = tf.variable(tf.randomNormal([128, 4], 0, 0.1, 'float32', seed + 1), true, `dp/${seed}/dense`);
  const movingMean = tf.variable(tf.zeros([8]), false, `dp/${seed}/moving_mean`);
  const variables = [kernel, gamma, beta, dense];
  const loss = (shard: Shard): tf.Scalar => {
    if (shard.fail) throw new Error('this shard fails on purpose');
    const x = tf.tensor4d(shard.images, [shard.n, 8, 8, 3]);
    const y = tf.conv2d(x, kernel as tf.Variable<tf.Rank.R4>, 2, 'same');
    const { mean, variance } = tf.moments(y, [0, 1, 2]);
    tf.tidy(() => movingMean.assign(tf.add(tf.mul(movingMean, 0.9), tf.mul(mean, 0.1))));
    const h = tf.relu(tf.batchNorm(y, mean, variance, beta, gamma, 1e-5));
    const out = tf.matMul(tf.reshape(h, [shard.n, 128]), dense as tf.Variable<tf.Rank.R2>);
    return tf.mean(tf.square(tf.sub(out, tf.tensor2d(shard.targets, [shard.n, 4])))) as tf.Scalar;
  };
  return { variables, buffers: [movingMean], loss, dispose: () => tf.dispose([...variables, movingMean]) };
}

void runReplica<Shard, { seed: number }>(({ rank, options }) => {
  // Replica 1 starts from other weights: startDataParallel must copy replica 0's before the first step.
  const net = buildNet(options.seed + 100 * rank);
  // Stands for a sampler's random-number generator: how many losses this replica has computed.
  let calls = 0;
  return {
    ...net,
    loss: (shard: Shard) => {
      calls += 1;
      return net.loss(shard);
    },
    optimizer: tf.train.momentum(0.1, 0.9),
    state: { save: () => ({ rank, calls }), load: (saved) => (calls = (saved as { calls: number }).calls) },
  };
});
