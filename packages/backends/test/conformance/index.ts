// Every conformance case, by package. A package adds its cases as a list in a file here (and itself as
// a devDependency of @detkit/backends); Node's suite and the browser page both read ALL_CASES.
import type { ConformanceCase } from '../../src/conformance';
import { BOXES_CASES } from './boxes';
import { CORE_CASES } from './core';
import { HEADS_CASES } from './heads';
import { MATCHERS_CASES } from './matchers';
import { TFJS_OP_CASES } from './tfjs-ops';

export const ALL_CASES: ConformanceCase[] = [...TFJS_OP_CASES, ...CORE_CASES, ...BOXES_CASES, ...MATCHERS_CASES, ...HEADS_CASES];

/**
 * The cases the headless-Chromium page runs: all but the matchers' and heads' (added 2026-12-03), which run
 * in Node only (wasm against cpu in conformance.test.ts, webgpu through Dawn in webgpu.test.ts). In
 * Chromium's WebGPU on SwiftShader, running them left the page's WebGPU device failing every later case
 * ("createBuffer failed, size (48) is too large for the implementation when mappedAtCreation == true"),
 * also with tfjs's own webgpu factory and without detkit's WGSL kernels; not understood yet.
 */
export const BROWSER_CASES: ConformanceCase[] = [...TFJS_OP_CASES, ...CORE_CASES, ...BOXES_CASES];
