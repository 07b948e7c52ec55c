// The conformance page run in headless Chromium (browser.test.ts bundles it): the cpu oracle first,
// then every case on each browser backend, compared in the page. The report lands on window.__detkit.
import { gpuContextLost } from '@detkit/core';
import { backendInfo, useBackend, type BackendName } from '../../src/index';
import { compareCaseResults, evaluateCase, type CaseResult } from '../../src/conformance';
import { BROWSER_CASES as ALL_CASES } from '../conformance/index';
import type { BrowserReport } from './report';

const BACKENDS: BackendName[] = ['webgl', 'webgpu', 'wasm'];

async function main(): Promise<BrowserReport> {
  const report: BrowserReport = { backends: {}, problems: {} };
  await useBackend('cpu');
  const oracle: CaseResult[] = [];
  for (const c of ALL_CASES) oracle.push(await evaluateCase(c));
  for (const backend of BACKENDS) {
    try {
      await useBackend(backend);
      report.backends[backend] = { ok: true, info: JSON.stringify(backendInfo()) };
    } catch (error) {
      report.backends[backend] = { ok: false, info: String(error) };
      continue;
    }
    for (const [i, c] of ALL_CASES.entries()) {
      report.problems[`${backend} ${c.name}`] = compareCaseResults(c, await evaluateCase(c), oracle[i]!);
    }
    if (backend === 'webgl' && gpuContextLost()) report.webglContextLost = true;
  }
  return report;
}

const w = window as unknown as { __detkit?: BrowserReport | { fatal: string } };
main().then(
  (report) => (w.__detkit = report),
  (error: unknown) => (w.__detkit = { fatal: String((error as Error)?.stack ?? error) }),
);
