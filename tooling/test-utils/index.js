// Shared test helpers. Plain JS (with JSDoc types) so packages use them without a build step.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DetkitError, setupBackend, tf } from '@detkit/core';
import { afterAll, beforeAll, describe, expect } from 'vitest';

/** Backends every package is tested on in Node (GPU-class ones run in the browser suite). */
export const NODE_BACKENDS = ['cpu', 'wasm'];

/**
 * Runs `suite` once per backend in `backends`, with that backend active (tfjs's describeWithFlags idea).
 * @param {string} name
 * @param {(backend: string) => void} suite
 * @param {string[]} [backends]
 */
export function describeEachBackend(name, suite, backends = NODE_BACKENDS) {
  for (const backend of backends) {
    describe(`${name} [${backend}]`, () => {
      beforeAll(async () => {
        await setupBackend(backend);
      });
      afterAll(() => {});
      suite(backend);
    });
  }
}

/** Flattens nested arrays of numbers. */
function flat(x) {
  return Array.isArray(x) ? x.flat(Infinity) : Array.from(x);
}

/** Shape of a nested array. */
function shapeOf(x) {
  const shape = [];
  let v = x;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return shape;
}

/**
 * Asserts |actual - expected| <= atol + rtol * |expected| elementwise, and equal shapes when `expected` is
 * a nested array. The default, 1e-5 absolute plus 1e-5 relative, is the project's float32 bar.
 * @param {tf.Tensor | number[] | ArrayLike<number>} actual
 * @param {unknown} expected nested number arrays
 * @param {{ atol?: number, rtol?: number, what?: string }} [opts]
 */
export function expectClose(actual, expected, opts = {}) {
  const { atol = 1e-5, rtol = 1e-5, what = 'value' } = opts;
  let values;
  if (actual instanceof tf.Tensor) {
    if (Array.isArray(expected)) {
      const es = shapeOf(expected);
      if (!(es.length === 1 && es[0] === 0 && actual.size === 0)) expect(actual.shape, `${what}: shape`).toEqual(es);
    }
    values = Array.from(actual.dataSync());
  } else {
    values = flat(actual);
  }
  const want = flat(expected);
  expect(values.length, `${what}: length`).toBe(want.length);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(values[i] - want[i]);
    const tol = atol + rtol * Math.abs(want[i]);
    if (!(err <= tol) && (worst === -1 || err - tol > worstErr)) {
      worst = i;
      worstErr = err - tol;
    }
  }
  if (worst !== -1) {
    expect.fail(`${what}: element ${worst} is ${values[worst]}, expected ${want[worst]} (atol ${atol}, rtol ${rtol})`);
  }
}

/**
 * Runs `fn`, disposes what it returns (tensors, arrays or objects of tensors) and asserts that no tensor
 * was left behind: the count after equals the count before.
 * @template T
 * @param {() => T} fn
 * @returns {Promise<void>}
 */
export async function expectNoLeaks(fn) {
  const before = tf.memory().numTensors;
  const result = await fn();
  tf.dispose(collectTensors(result));
  expect(tf.memory().numTensors, 'tensors left behind').toBe(before);
}

function collectTensors(x, out = []) {
  if (x instanceof tf.Tensor) out.push(x);
  else if (Array.isArray(x)) x.forEach((v) => collectTensors(v, out));
  else if (x && typeof x === 'object') Object.values(x).forEach((v) => collectTensors(v, out));
  return out;
}

/**
 * Runs `fn`, expects it to throw a detkit error (any `DetkitError` subclass, checked with
 * `DetkitError.isInstance`; with `errorClass`, an instance of that class) and returns that error, for
 * assertions on its class, `op` and `argument`. Fails the test when `fn` returns or throws anything else.
 * @template {import('@detkit/core').DetkitError} E
 * @param {() => unknown} fn
 * @param {abstract new (...args: any[]) => E} [errorClass]
 * @returns {E}
 */
export function thrownDetkitError(fn, errorClass) {
  try {
    fn();
  } catch (e) {
    expect(DetkitError.isInstance(e), `not a DetkitError: ${String(e)}`).toBe(true);
    if (errorClass) expect(e).toBeInstanceOf(errorClass);
    return e;
  }
  throw new Error(`expected ${errorClass ? `a ${errorClass.name}` : 'a DetkitError'}, but nothing was thrown`);
}

/**
 * Reads a JSON fixture written by tooling/fixtures/generate.py.
 * @param {URL | string} url e.g. new URL('../fixtures/box-ops.json', import.meta.url)
 */
export function readFixture(url) {
  return JSON.parse(readFileSync(url, 'utf8'));
}

/** Debian's chromium package ships SwiftShader's Vulkan driver here (the test command installs chromium). */
export const SWIFTSHADER_VULKAN_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * Points the Vulkan loader at SwiftShader for Dawn (the npm package `webgpu`) in this test process, before
 * the first `useBackend('webgpu')`: sets VK_ICD_FILENAMES (unless already set) and XDG_RUNTIME_DIR (a
 * private folder when unset). Throws, saying what to install, when the driver file is missing, so webgpu
 * tests fail instead of skipping. DETKIT_VULKAN_ICD names another driver manifest.
 * @returns {string} the ICD manifest in use
 */
export function provideSoftwareVulkan() {
  const icd = process.env.VK_ICD_FILENAMES ?? process.env.DETKIT_VULKAN_ICD ?? SWIFTSHADER_VULKAN_ICD;
  for (const file of icd.split(':')) {
    if (!existsSync(file)) {
      throw new Error(
        `the webgpu tests need a Vulkan driver Dawn accepts, and ${file} does not exist: install Debian's chromium ` +
          `(apt-get install -y chromium, which ships SwiftShader's ${SWIFTSHADER_VULKAN_ICD}), or set DETKIT_VULKAN_ICD / VK_ICD_FILENAMES to a driver manifest`,
      );
    }
  }
  process.env.VK_ICD_FILENAMES = icd;
  if (!process.env.XDG_RUNTIME_DIR) {
    const dir = path.join(os.tmpdir(), `detkit-xdg-${process.pid}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
  return icd;
}
