// The conformance page run in headless Chromium (browser.test.ts bundles it): the cpu oracle first,
// then every case on each browser backend, compared in the page. The report lands on window.__detkit.
import { gpuContextLost, tf } from '@detkit/core';
import { backendInfo, useBackend, type BackendName } from '../../src/index';
import { compareCaseResults, evaluateCase, type CaseResult } from '../../src/conformance';
import { BROWSER_CASES as ALL_CASES } from '../conformance/index';
import type { BrowserReport } from './report';

const BACKENDS: BackendName[] = ['webgl', 'webgpu', 'wasm'];

const w = window as unknown as { __detkit?: BrowserReport | { fatal: string }; __detkitProgress?: string };

async function main(): Promise<BrowserReport> {
  const report: BrowserReport = { backends: {}, problems: {} };
  const started = performance.now();
  let done = 0;
  // What the test watches to tell a slow page (a loaded machine) from a hung one.
  const progress = (where: string) => (w.__detkitProgress = `${done++} ${where} at ${Math.round(performance.now() - started)} ms`);
  await useBackend('cpu');
  const oracle: CaseResult[] = [];
  for (const c of ALL_CASES) {
    progress(`cpu ${c.name}`);
    oracle.push(await evaluateCase(c));
  }
  for (const backend of BACKENDS) {
    try {
      await useBackend(backend);
      report.backends[backend] = { ok: true, info: JSON.stringify(backendInfo()) };
      // A GPU reset during the webgpu cases loses the device (not by our hand: 'destroyed' is tfjs's own).
      const device = backend === 'webgpu' ? (tf.backend() as unknown as { device?: { lost?: Promise<{ reason?: string; message?: string }> } }).device : undefined;
      void device?.lost?.then((info) => {
        if (info.reason !== 'destroyed' && report.backends['webgpu']?.ok && report.problems[`webgpu ${ALL_CASES.at(-1)!.name}`] === undefined) {
          report.webgpuDeviceLost = info.message || String(info.reason);
        }
      });
    } catch (error) {
      report.backends[backend] = { ok: false, info: String(error) };
      continue;
    }
    for (const [i, c] of ALL_CASES.entries()) {
      progress(`${backend} ${c.name}`);
      report.problems[`${backend} ${c.name}`] = compareCaseResults(c, await evaluateCase(c), oracle[i]!);
    }
    if (backend === 'webgl' && gpuContextLost()) report.webglContextLost = true;
  }
  report.elapsedMs = Math.round(performance.now() - started);
  return report;
}

main().then(
  (report) => (w.__detkit = report),
  (error: unknown) => (w.__detkit = { fatal: String((error as Error)?.stack ?? error) }),
);
