// Helpers for this package's tests (not exported from the package, not part of the build).
import { generateAnchors } from '@detkit/anchors';
import { tf } from '@detkit/core';
import { readFixture } from '@detkit/test-utils';
import { expect } from 'vitest';

/** Deterministic float32 values in [-1, 1) (a small LCG), for inputs that must not depend on tfjs's RNG. */
export function seededValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/**
 * Checks tf's gradient of the scalar `loss()` with respect to each variable in `vars` against central
 * finite differences (float32, step `eps`) at up to `perVariable` coordinates of each (evenly spread):
 * |analytic - numeric| <= atol + rtol * |numeric|.
 */
export function expectGradientsMatchFiniteDifferences(
  loss: () => tf.Scalar,
  vars: tf.Variable[],
  opts: { eps?: number; atol?: number; rtol?: number; perVariable?: number } = {},
): void {
  const { eps = 1e-3, atol = 5e-3, rtol = 2e-2, perVariable = 24 } = opts;
  const { value, grads } = tf.variableGrads(loss, vars);
  value.dispose();
  const evaluate = () => tf.tidy(() => loss().dataSync()[0] as number);
  let checked = 0;
  for (const v of vars) {
    const analytic = grads[v.name]!.dataSync();
    const base = v.dataSync().slice() as Float32Array;
    const step = Math.max(1, Math.floor(base.length / perVariable));
    for (let i = 0; i < base.length; i += step) {
      const probe = base.slice();
      probe[i] = (base[i] as number) + eps;
      tf.tidy(() => v.assign(tf.tensor(probe, v.shape)));
      const up = evaluate();
      probe[i] = (base[i] as number) - eps;
      tf.tidy(() => v.assign(tf.tensor(probe, v.shape)));
      const down = evaluate();
      const numeric = (up - down) / (2 * eps);
      const a = analytic[i] as number;
      expect(Math.abs(a - numeric), `d loss / d ${v.name}[${i}]: analytic ${a}, numeric ${numeric}`).toBeLessThanOrEqual(atol + rtol * Math.abs(numeric));
      checked++;
    }
    tf.tidy(() => v.assign(tf.tensor(base, v.shape)));
  }
  tf.dispose(Object.values(grads));
  expect(checked).toBeGreaterThan(0);
}

/**
 * @detkit/anchors' `generateAnchors` (torchvision AnchorGenerator's order and values) on a gridH x gridW
 * map, as a Float32Array: xyxy, [gridH * gridW * ratios * sizes, 4], per location (row-major) the base
 * anchors ratio-major then size.
 */
export function gridAnchors(gridH: number, gridW: number, stride: number, sizes: number[], ratios: number[]): Float32Array {
  const anchors = generateAnchors({ featureSize: [gridH, gridW], stride, sizes, ratios });
  try {
    return Float32Array.from(anchors.dataSync());
  } finally {
    anchors.dispose();
  }
}

/** One torchvision RoIAlign / RoIPool case of fixtures/roi-ops.json (tooling/fixtures/generate.py). */
export interface RoiCase {
  fn: string;
  name: string;
  features: number[][][][];
  boxes: number[][];
  boxImageIndex: number[];
  outputSize: [number, number];
  spatialScale: number;
  samplingRatio?: number;
  aligned?: boolean;
  upstream: number[][][][];
  expected: number[][][][];
  expectedGrad: number[][][][];
}

/** fixtures/roi-ops.json: its cases and the torchvision version that wrote them. */
export function readRoiFixture(): { cases: RoiCase[]; torchvision: string } {
  return readFixture(new URL('../fixtures/roi-ops.json', import.meta.url)) as { cases: RoiCase[]; torchvision: string };
}
