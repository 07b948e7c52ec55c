// Deterministic inputs for conformance cases (@detkit/core's createRandom), identical in Node and in the
// browser.
import { createRandom } from '@detkit/core';
import type { HostTensor } from '../../src/conformance';

/** Uniform float32 values in [lo, hi). */
export function uniform(shape: number[], seed: number, lo = -1, hi = 1): HostTensor {
  const rand = createRandom(seed);
  const n = shape.reduce((s, d) => s * d, 1);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = lo + (hi - lo) * rand();
  return { values, shape };
}

/** Int32 values in [lo, hi). */
export function ints(shape: number[], seed: number, lo: number, hi: number): HostTensor {
  const rand = createRandom(seed);
  const n = shape.reduce((s, d) => s * d, 1);
  const values = new Int32Array(n);
  for (let i = 0; i < n; i++) values[i] = lo + Math.floor((hi - lo) * rand());
  return { values, shape, dtype: 'int32' };
}

/** [n, 4] xyxy boxes with corners in [0, size) and sides in [minSide, maxSide). */
export function boxes(n: number, seed: number, size = 100, minSide = 5, maxSide = 40): HostTensor {
  const rand = createRandom(seed);
  const values = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const x1 = rand() * size, y1 = rand() * size;
    values[4 * i] = x1;
    values[4 * i + 1] = y1;
    values[4 * i + 2] = x1 + minSide + rand() * (maxSide - minSide);
    values[4 * i + 3] = y1 + minSide + rand() * (maxSide - minSide);
  }
  return { values, shape: [n, 4] };
}

/** Explicit values. */
export function values(data: number[], shape: number[], dtype: 'float32' | 'int32' = 'float32'): HostTensor {
  return { values: data, shape, dtype };
}
