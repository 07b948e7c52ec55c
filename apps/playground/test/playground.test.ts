// The playground in headless Chromium (playwright-core driving Debian's chromium, WebGL and WebGPU through
// SwiftShader): the page loads cleanly, its matcher view agrees with @detkit/matchers in Node, a small SSD
// trains on webgpu, webgl and wasm, a wasm -> webgl swap keeps the run on track, a model written by the
// CLI trainer detects in the page what detkit-detect finds in Node, and each view is screenshotted.
// Needs /usr/bin/chromium (the root test command installs it) or DETKIT_CHROMIUM; DETKIT_SKIP_BROWSER=1
// opts out (the tests then show as skipped).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FASTER_RCNN_VGG16_ANCHORS, SSD300, generateAnchors, ssdDefaultBoxes } from '@detkit/anchors';
import { useBackend } from '@detkit/backends';
import { boxIou } from '@detkit/boxes';
import { tf } from '@detkit/core';
import { boxesToInput, decodeImage, encodePng, planResize, syntheticSample, type RgbImage } from '@detkit/data';
import { RPN_MATCHER_OPTIONS, createMaxIouMatcher, createSsdMatcher } from '@detkit/matchers';
import { BROWSER_OPTED_OUT, launchChromium, retryTransient } from '@detkit/test-utils/browser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlaygroundHandle } from '../src/main';
import type { Detection } from '../src/detect-view';
import type { TrainSetup } from '../src/train-protocol';
import { APP_ROOT, buildAndServe, type Served } from './serve';

const REPO = path.resolve(APP_ROOT, '../..');
const SCREENSHOTS = path.join(APP_ROOT, 'screenshots');
/** The synthetic validation image the matcher test looks at. */
const MATCHER_IMAGE = 3;
/**
 * The model the training tests use: the page's SSD with a narrower backbone, 64 px inputs and batches of 4,
 * so 20 steps on three SwiftShader backends fit the test budget on two shared cores.
 */
const TEST_SETUP: Partial<TrainSetup> = { model: 'ssd', imageSize: 64, batchSize: 4, channels: [8, 12, 16, 24, 32], optimizer: 'adam', learningRate: 3e-3, evalEvery: 0, seed: 0 };
/**
 * The swap test trains with SGD + momentum 0.9 (its slots still carried across the swap): Adam divides each
 * step by the root of the squared-gradient average, which turns float32 rounding differences between two
 * backends in near-zero gradients into differences of up to the learning rate, far above 1e-4.
 */
const SWAP_SETUP: Partial<TrainSetup> = { ...TEST_SETUP, optimizer: 'momentum', learningRate: 1e-2 };
const TRAIN_STEPS = 20;
const SWAP_AFTER = 10;
/** Weights after a backend swap vs. the same steps on one backend (float32 kernels that sum in other orders). */
const SWAP_TOLERANCE = 1e-4;
/** The page's detections vs. detkit-detect's in Node (both on wasm, same letterbox and box mapping). */
const DETECT_TOLERANCE = 1e-4;

/**
 * Runs a training in the page again, at most twice, when Chromium lost the worker's WebGL context on its own
 * (a GPU reset on a loaded machine: the step throws @detkit/core's lost-context error). The failed request
 * marked the page's worker broken, so the rerun's `setup` starts a fresh worker with a fresh context, as
 * "New model" does for a user. Any other error fails at once.
 */
function retryLostContext<T>(what: string, run: () => Promise<T>): Promise<T> {
  return retryTransient(what, run, { transientError: (error) => (/lost the WebGL context/.test(String(error)) ? 'Chromium lost the WebGL context on its own; a fresh worker' : undefined) });
}

type Handle = PlaygroundHandle;
declare const window: { __playground: Handle };

describe.skipIf(BROWSER_OPTED_OUT)('playground in headless Chromium', () => {
  let served: Served | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let setupError: string | undefined;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    try {
      served = await buildAndServe();
      browser = await launchChromium();
      page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      page.on('console', (m) => {
        if (m.type() === 'error') consoleErrors.push(m.text());
      });
      page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
      await page.goto(served.url);
      await page.waitForFunction(() => window.__playground?.ready === true || window.__playground?.error !== undefined, null, { timeout: 120_000, polling: 200 });
      const error = await page.evaluate(() => window.__playground.error);
      if (error) throw new Error(`the page failed to start: ${error}`);
    } catch (error) {
      setupError = String((error as Error)?.stack ?? error);
    }
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  function ready(): Page {
    expect(setupError).toBeUndefined();
    return page!;
  }

  it('loads with no console errors', async () => {
    const p = ready();
    expect(await p.evaluate(() => window.__playground.ready)).toBe(true);
    expect(await p.locator('#cv-frcnn').isVisible()).toBe(true);
    expect(consoleErrors).toEqual([]);
  });

  it('shows the positive / negative counts @detkit/matchers computes in Node', async () => {
    const p = ready();
    const read = async () =>
      p.evaluate(() => {
        const n = (id: string) => Number(document.querySelector(`[data-testid="${id}"]`)!.textContent);
        return { frcnn: { positive: n('frcnn-positive'), negative: n('frcnn-negative'), ignored: n('frcnn-ignored') }, ssd: { positive: n('ssd-positive'), negative: n('ssd-negative') } };
      });
    await p.evaluate((i) => window.__playground.showSynthetic(i), MATCHER_IMAGE);
    const shown = await read();
    const expected = await nodeCounts(MATCHER_IMAGE, 0.7, 0.3, 0.5);
    expect(shown).toEqual(expected);
    expect(expected.frcnn.positive).toBeGreaterThan(0);
    expect(expected.frcnn.positive + expected.frcnn.negative + expected.frcnn.ignored).toBe(22_500);

    // Moving the sliders redraws with the new thresholds.
    await setRange(p, '#in-high', '0.5');
    await setRange(p, '#in-low', '0.2');
    await setRange(p, '#in-ssd', '0.4');
    const moved = await read();
    const expectedMoved = await nodeCounts(MATCHER_IMAGE, 0.5, 0.2, 0.4);
    expect(moved).toEqual(expectedMoved);
    expect(moved).not.toEqual(shown);
    await setRange(p, '#in-high', '0.7');
    await setRange(p, '#in-low', '0.3');
    await setRange(p, '#in-ssd', '0.5');
  });

  for (const backend of ['wasm', 'webgl', 'webgpu'] as const) {
    // On webgpu the step reads nothing back synchronously (in headless Chromium on SwiftShader such a read,
    // through a canvas, loses the device: README, Performance); the worker turns value checks off there.
    it(`trains ${TRAIN_STEPS} steps on ${backend} and lowers the loss`, async () => {
      const p = ready();
      const run = await retryLostContext(`training on ${backend}`, () => p.evaluate(
        async ({ backend, setup, steps }) => {
          const t = window.__playground.train;
          await t.setup(setup, backend);
          await t.client.run(steps);
          // Evaluation detects (a synchronous read of the boxes): on webgpu the worker runs it on wasm and returns.
          const { map } = await t.client.evaluate();
          await t.client.run(1);
          return { losses: t.steps.map((s) => s.loss).slice(0, steps), backends: [...new Set(t.steps.map((s) => s.backend))], map };
        },
        { backend, setup: TEST_SETUP, steps: TRAIN_STEPS },
      ));
      expect(run.backends).toEqual([backend]);
      expect(run.map).toBeGreaterThanOrEqual(0);
      expect(run.losses).toHaveLength(TRAIN_STEPS);
      expect(run.losses.every(Number.isFinite)).toBe(true);
      const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
      expect(mean(run.losses.slice(-5)), `losses ${run.losses.map((l) => l.toFixed(3)).join(' ')}`).toBeLessThan(mean(run.losses.slice(0, 5)));
    });
  }

  type SwapRun = { weights: Record<string, number[]>; losses: number[]; backends: string[] };
  /** Trains `steps` steps per segment in a fresh run, switching to the segment's backend before it. */
  const trainSegments = (segments: readonly [backend: 'wasm' | 'webgl' | 'webgpu', steps: number][]): Promise<SwapRun> =>
    retryLostContext(`training on ${segments.map(([b]) => b).join(' then ')}`, () => ready().evaluate(
      async ({ setup, segments }) => {
        const t = window.__playground.train;
        await t.setup(setup, segments[0]![0]);
        for (const [backend, steps] of segments) {
          await t.client.backend(backend);
          await t.client.run(steps);
        }
        const weights = Object.fromEntries(Object.entries(await t.client.weights()).map(([k, v]) => [k, Array.from(v)]));
        return { weights, losses: t.steps.map((s) => s.loss), backends: t.steps.map((s) => s.backend) };
      },
      { setup: SWAP_SETUP, segments },
    ));
  let wasmAlone: Promise<SwapRun> | undefined;

  // webgpu last, so that the Train view's charts (and screenshots) end with a swap.
  for (const target of ['webgl', 'webgpu'] as const) {
    it(`a swap from wasm to ${target} after ${SWAP_AFTER} steps ends within ${SWAP_TOLERANCE} of wasm alone`, async () => {
      wasmAlone ??= trainSegments([['wasm', TRAIN_STEPS]]);
      const alone = await wasmAlone;
      const swapped = await trainSegments([['wasm', SWAP_AFTER], [target, TRAIN_STEPS - SWAP_AFTER]]);
      expect(swapped.backends).toEqual([...Array<string>(SWAP_AFTER).fill('wasm'), ...Array<string>(TRAIN_STEPS - SWAP_AFTER).fill(target)]);
      expect(alone.losses.at(-1)!).toBeLessThan(alone.losses[0]!);
      // The first step on the new backend computes the loss wasm computes at that step (float32, 1e-4 relative).
      expect(Math.abs(swapped.losses[SWAP_AFTER]! - alone.losses[SWAP_AFTER]!)).toBeLessThanOrEqual(1e-4 * Math.abs(alone.losses[SWAP_AFTER]!));
      expect(Object.keys(swapped.weights).sort()).toEqual(Object.keys(alone.weights).sort());
      let worst = { key: '', diff: 0 };
      let moved = 0;
      for (const [key, values] of Object.entries(swapped.weights)) {
        const reference = alone.weights[key]!;
        expect(values).toHaveLength(reference.length);
        values.forEach((v, i) => {
          const diff = Math.abs(v - reference[i]!);
          if (diff > worst.diff) worst = { key: `${key}[${i}]`, diff };
        });
        moved += values.length;
      }
      expect(moved).toBeGreaterThan(1000);
      expect(worst.diff, `largest difference at ${worst.key}`).toBeLessThanOrEqual(SWAP_TOLERANCE);
    });
  }

  it('detects with a CLI-trained model the boxes detkit-detect finds in Node (1e-4)', async () => {
    const p = ready();
    const work = mkdtempSync(path.join(os.tmpdir(), 'detkit-playground-cli-'));
    try {
      const runDir = path.join(work, 'run');
      execFileSync(process.execPath, [path.join(REPO, 'apps/trainer/dist/train.js'), '-e', '1', '--train-limit', '16', '--val-limit', '8', '--image-size', '64', '--draw', '0', '--no-progress', '-o', runDir], { cwd: REPO, stdio: 'pipe', timeout: 180_000 });
      // A validation image at another size than the model's input, so the letterbox and the mapping back matter.
      const sample = syntheticSample(5, { split: 'val' });
      const image = cropImage(sample.image as RgbImage, 100, 120);
      const png = path.join(work, 'shapes.png');
      writeFileSync(png, encodePng(image));
      const out = path.join(work, 'detections');
      execFileSync(process.execPath, [path.join(REPO, 'apps/trainer/dist/detect.js'), '-m', runDir, '--score', '0.05', '-o', out, png], { cwd: REPO, stdio: 'pipe', timeout: 120_000 });
      const node = JSON.parse(readFileSync(path.join(out, 'detections.json'), 'utf8')) as { detections: Detection[] }[];
      const expected = node[0]!.detections;

      await p.evaluate(() => window.__playground.show('detect'));
      await setRange(p, '#dt-score', '0.05');
      await p.locator('#dt-image').setInputFiles(png);
      await p.locator('#dt-files').setInputFiles([path.join(runDir, 'model', 'model.json'), path.join(runDir, 'model', 'weights.bin')]);
      await p.waitForFunction(() => document.querySelector('#dt-model')!.textContent!.startsWith('model.json'), null, { timeout: 60_000 });
      const found = await p.evaluate(() => window.__playground.detect.detect());

      expect(expected.length).toBeGreaterThan(0);
      expect(found.map((d) => [d.label, d.class])).toEqual(expected.map((d) => [d.label, d.class]));
      found.forEach((d, i) => {
        const e = expected[i]!;
        expect(Math.abs(d.score - e.score), `score of detection ${i}`).toBeLessThanOrEqual(DETECT_TOLERANCE);
        d.box.forEach((v, k) => expect(Math.abs(v - e.box[k]!), `box ${i} coordinate ${k}: ${v} vs ${e.box[k]}`).toBeLessThanOrEqual(DETECT_TOLERANCE));
      });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('saves a screenshot of each view at laptop and phone widths, none blank', async () => {
    const p = ready();
    mkdirSync(SCREENSHOTS, { recursive: true });
    await p.evaluate((i) => window.__playground.showSynthetic(i), MATCHER_IMAGE);
    // One mAP point on the Train view's chart (the training tests evaluate nothing themselves).
    await p.evaluate(() => window.__playground.train.client.evaluate());
    for (const [width, height, name] of [[1280, 800, 'laptop'], [390, 844, 'phone']] as const) {
      await p.setViewportSize({ width, height });
      for (const view of ['inspect', 'train', 'detect'] as const) {
        await p.evaluate((v) => window.__playground.show(v), view);
        if (view === 'inspect') await p.evaluate(() => window.__playground.redrawInspect());
        // Laptop: the whole view. Phone: one screen, scrolled to the view's pictures.
        if (name === 'phone') await p.evaluate((v) => document.querySelector(`#view-${v} .cards`)!.scrollIntoView(), view);
        else await p.evaluate(() => (document.documentElement.scrollTop = 0));
        await p.waitForTimeout(300);
        const file = path.join(SCREENSHOTS, `${view}-${name}.png`);
        await p.screenshot({ path: file, fullPage: name === 'laptop' });
        const shot = decodeImage(new Uint8Array(readFileSync(file)), file);
        expect(shot.width).toBe(width);
        expect(notBlank(shot), `${file} looks blank`).toBe(true);
      }
    }
    await p.setViewportSize({ width: 1280, height: 800 });
    expect(consoleErrors).toEqual([]);
  });
});

/** Sets a range input's value and fires its input event, as a user dragging it does. */
async function setRange(page: Page, selector: string, value: string): Promise<void> {
  await page.locator(selector).evaluate((el, v) => {
    (el as HTMLInputElement).value = v;
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, value);
}

/** The matcher counts of synthetic validation image `index`, computed here in Node with the packages. */
async function nodeCounts(index: number, high: number, low: number, ssdThreshold: number) {
  await useBackend('cpu');
  const s = syntheticSample(index, { split: 'val' });
  const count = (labels: tf.Tensor, value: number) => (labels.dataSync() as Int32Array).filter((l) => l === value).length;
  return tf.tidy(() => {
    const gt800 = boxesToInput(s.boxes, planResize(s.width, s.height, [800, 800], 'letterbox'));
    const anchors = generateAnchors({ ...FASTER_RCNN_VGG16_ANCHORS, featureSize: [50, 50] });
    const rpn = createMaxIouMatcher({ ...RPN_MATCHER_OPTIONS, highThreshold: high, lowThreshold: low })(boxIou(tf.tensor2d(gt800, [gt800.length / 4, 4]), anchors));
    const gt300 = boxesToInput(s.boxes, planResize(s.width, s.height, [300, 300], 'letterbox'));
    const ssd = createSsdMatcher({ threshold: ssdThreshold })(boxIou(tf.tensor2d(gt300, [gt300.length / 4, 4]), ssdDefaultBoxes(SSD300)));
    return {
      frcnn: { positive: count(rpn.labels, 1), negative: count(rpn.labels, 0), ignored: count(rpn.labels, -1) },
      ssd: { positive: count(ssd.labels, 1), negative: count(ssd.labels, 0) },
    };
  });
}

/** The top-left `width` x `height` of an RGB image. */
function cropImage(image: RgbImage, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) data.set(image.data.subarray(3 * y * image.width, 3 * (y * image.width + width)), 3 * y * width);
  return { width, height, data };
}

/** A screenshot is not blank when its pixels vary: many distinct colours and a spread of brightness. */
function notBlank(image: RgbImage): boolean {
  const colours = new Set<number>();
  let sum = 0;
  let sumSq = 0;
  const n = image.width * image.height;
  for (let i = 0; i < n; i += 7) {
    const r = image.data[3 * i]!, g = image.data[3 * i + 1]!, b = image.data[3 * i + 2]!;
    colours.add((r << 16) | (g << 8) | b);
    const v = (r + g + b) / 3;
    sum += v;
    sumSq += v * v;
  }
  const m = Math.ceil(n / 7);
  const sd = Math.sqrt(sumSq / m - (sum / m) ** 2);
  return colours.size > 200 && sd > 8;
}
