// WebGPU in Node through Dawn (the npm package `webgpu`) on SwiftShader's Vulkan driver, which Debian's
// chromium ships (the test command installs it): backend selection, the adapter report, detkit's WGSL
// kernels, and the whole conformance suite against the cpu oracle. Without the driver every test here
// fails saying what to install (provideSoftwareVulkan), rather than skipping.
import { PAIRWISE_IOU_KERNEL } from '@detkit/boxes';
import { BackendUnavailableError, tf } from '@detkit/core';
import { ROI_ALIGN_KERNEL } from '@detkit/heads';
import { MAX_IOU_MATCH_KERNEL } from '@detkit/matchers';
import { provideSoftwareVulkan } from '@detkit/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADDED_WEBGPU_KERNELS, backendInfo, isSoftwareAdapter, useBackend } from '../src/index';
import { compareCaseResults, evaluateCase, type CaseResult } from '../src/conformance';
import { ALL_CASES } from './conformance/index';

let setupError: unknown;
try {
  provideSoftwareVulkan();
} catch (error) {
  setupError = error;
}

/** Fails the test with the setup's reason (missing driver) instead of letting it run or skip. */
function requireDriver(): void {
  if (setupError !== undefined) throw setupError;
}

describe('webgpu in Node (Dawn on SwiftShader)', () => {
  beforeAll(async () => {
    if (setupError === undefined) await useBackend('wasm');
  });

  it("'webgpu' starts on the software adapter and backendInfo names it", async () => {
    requireDriver();
    expect(await useBackend('webgpu')).toBe('webgpu');
    const info = backendInfo();
    expect(info).toMatchObject({ backend: 'webgpu', device: 'gpu', platform: 'node' });
    expect(info.adapter).toMatchObject({ vendor: 'google', architecture: 'swiftshader', software: true, source: 'dawn' });
    expect(info.adapter?.description).toMatch(/SwiftShader/);
    expect(tf.sum(tf.tensor1d([1, 2, 3])).dataSync()[0]).toBe(6);
  });

  it('reads GPU results synchronously (dataSync) in Node', async () => {
    requireDriver();
    await useBackend('webgpu');
    const a = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const p = tf.matMul(a, a);
    expect(Array.from(p.dataSync())).toEqual([7, 10, 15, 22]);
    expect(Array.from(tf.cast(tf.greater(p, 9), 'bool').dataSync())).toEqual([0, 1, 1, 1]);
    tf.dispose([a, p]);
  });

  it("'gpu' without a hardware adapter: typed error naming each attempt; the previous backend stays", async () => {
    requireDriver();
    await useBackend('wasm');
    let caught: unknown;
    try {
      await useBackend('gpu');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BackendUnavailableError);
    const e = caught as BackendUnavailableError;
    expect(e.backend).toBe('gpu');
    expect(e.message).toContain('(1) @tensorflow/tfjs-node-gpu: @tensorflow/tfjs-node-gpu is not installed');
    expect(e.message).toMatch(/\(2\) WebGPU through Dawn: the only WebGPU adapter here is a software one \(google \/ swiftshader \/ SwiftShader driver [\d.]+ \(software\)\)/);
    expect(e.hint).toContain('allowSoftwareAdapter');
    expect(tf.getBackend()).toBe('wasm');
    // 'auto' skips the software adapter too.
    expect(await useBackend('auto')).toBe('wasm');
  });

  it("'gpu' with { allowSoftwareAdapter: true } takes it", async () => {
    requireDriver();
    expect(await useBackend('gpu', { allowSoftwareAdapter: true })).toBe('webgpu');
    expect(backendInfo().adapter?.software).toBe(true);
    await useBackend('wasm');
  });

  it('isSoftwareAdapter: fallback flag, SwiftShader, llvmpipe; not a hardware GPU', () => {
    expect(isSoftwareAdapter({ isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter({ info: { vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' } })).toBe(true);
    expect(isSoftwareAdapter({ info: { vendor: 'google', architecture: 'swiftshader' } })).toBe(true);
    expect(isSoftwareAdapter({ info: { vendor: 'nvidia', architecture: 'ampere', description: 'NVIDIA GeForce RTX 3090' } })).toBe(false);
  });

  it("registers detkit's WGSL kernels, and the ops dispatch them on webgpu", async () => {
    requireDriver();
    await useBackend('webgpu');
    for (const name of ADDED_WEBGPU_KERNELS) expect(tf.getKernel(name, 'webgpu'), name).toBeDefined();
    const wanted: Record<string, string[]> = {
      'boxes/boxIou (fused kernel)': [PAIRWISE_IOU_KERNEL],
      'matchers/maxIou RPN (low-quality matches)': [MAX_IOU_MATCH_KERNEL],
      'heads/roiAlign 7x7 sampling 2 (Faster R-CNN box head)': [ROI_ALIGN_KERNEL],
    };
    for (const [name, kernels] of Object.entries(wanted)) {
      const c = ALL_CASES.find((x) => x.name === name)!;
      const inputs = c.inputs.map((h) => tf.tensor(Array.from(h.values), h.shape, h.dtype ?? 'float32'));
      const profile = await tf.profile(() => tf.tidy(() => c.run(...inputs)));
      for (const k of kernels) expect(profile.kernelNames, name).toContain(k);
      tf.dispose(inputs);
    }
    await useBackend('wasm');
  });
});

describe('conformance [webgpu in Node] against cpu', () => {
  for (const c of ALL_CASES) {
    it(c.name, async () => {
      requireDriver();
      await useBackend('cpu');
      const oracle: CaseResult = await evaluateCase(c);
      await useBackend('webgpu');
      const result = await evaluateCase(c);
      expect(compareCaseResults(c, result, oracle)).toEqual([]);
    });
  }
});
