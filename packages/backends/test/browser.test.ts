// The conformance suite on webgl and webgpu (and wasm) in headless Chromium, through SwiftShader: every
// case against the cpu oracle in the same page. Needs /usr/bin/chromium (Debian: apt-get install -y
// chromium) or DETKIT_CHROMIUM; without it this file fails. DETKIT_SKIP_BROWSER=1 opts out explicitly
// (the tests then show as skipped).
import { BROWSER_OPTED_OUT, launchChromium } from '@detkit/test-utils/browser';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserReport } from './browser/report';
import { bundleAndServe, type Served } from './browser/serve';
import { BROWSER_CASES as ALL_CASES } from './conformance/index';

/** Bundling, starting Chromium and running every case on three backends, in the worst case. */
const BROWSER_TIMEOUT_MS = 240_000;
const GPU_BACKENDS = ['webgl', 'webgpu', 'wasm'] as const;

describe.skipIf(BROWSER_OPTED_OUT)('conformance in headless Chromium', () => {
  let served: Served | undefined;
  let browser: Browser | undefined;
  let report: BrowserReport | undefined;
  /** Why the page produced no report; every test fails with it (a throwing beforeAll would skip them). */
  let setupError: string | undefined;
  const logs: string[] = [];

  beforeAll(async () => {
    try {
      served = await bundleAndServe();
      // Chrome on SwiftShader can reset its GPU process on a loaded machine (seen once in CI), losing the
      // WebGL context: the webgl cases then read zeros. Only that gets a fresh browser, at most twice.
      for (let attempt = 1; attempt <= 3; attempt++) {
        report = await runPage();
        if (!report.webglContextLost) break;
        console.warn(`attempt ${attempt}: Chromium lost its WebGL context on its own; trying a fresh browser`);
      }
    } catch (error) {
      setupError = String((error as Error)?.stack ?? error);
    }
  }, 3 * BROWSER_TIMEOUT_MS + 60_000);

  async function runPage(): Promise<BrowserReport> {
    await browser?.close();
    logs.length = 0;
    browser = await launchChromium();
    const page = await browser.newPage();
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(served!.url);
    await page.waitForFunction(() => (window as unknown as { __detkit?: unknown }).__detkit !== undefined, null, { timeout: BROWSER_TIMEOUT_MS, polling: 500 });
    const result = await page.evaluate(() => (window as unknown as { __detkit: unknown }).__detkit);
    if ((result as { fatal?: string }).fatal) throw new Error(`the page failed: ${(result as { fatal: string }).fatal}\n${logs.join('\n')}`);
    return result as BrowserReport;
  }

  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  for (const backend of GPU_BACKENDS) {
    describe(backend, () => {
      it('starts in Chromium', () => {
        expect(setupError).toBeUndefined();
        expect(report?.backends[backend], logs.slice(-20).join('\n')).toMatchObject({ ok: true });
        if (backend === 'webgl') expect(report?.webglContextLost, 'the WebGL context was lost on every attempt').toBeUndefined();
      });
      for (const c of ALL_CASES) {
        it(c.name, () => {
          expect(setupError).toBeUndefined();
          expect(report?.problems[`${backend} ${c.name}`]).toEqual([]);
        });
      }
    });
  }
});
