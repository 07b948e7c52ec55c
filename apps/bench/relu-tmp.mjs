import { useBackend } from '@detkit/backends';
import { tf } from '@detkit/core';
await useBackend('wasm', { threads: Number(process.argv[2]) });
const x = tf.randomNormal([16, 8, 8, 96]);
const w = tf.randomNormal([3, 3, 96, 96]);
const big = tf.randomNormal([16, 16, 16, 64]);
const med = (a) => a.sort((p, q) => p - q)[a.length >> 1];
for (let r = 0; r < 3; r++) {
  const alone = [], after = [], sq = [];
  for (let i = 0; i < 200; i++) { const t0 = performance.now(); tf.relu(x).dispose(); alone.push(performance.now() - t0); }
  for (let i = 0; i < 50; i++) {
    tf.conv2d(x, w, 1, 'same').dispose();
    const t0 = performance.now(); tf.relu(x).dispose(); after.push(performance.now() - t0);
    const t1 = performance.now(); tf.square(w).dispose(); sq.push(performance.now() - t1);
  }
  console.log(`relu alone ${med(alone).toFixed(3)} ms, right after a conv ${med(after).toFixed(3)} ms (max ${Math.max(...after).toFixed(2)}), square(w) ${med(sq).toFixed(3)}`);
}
