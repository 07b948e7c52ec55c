// Headless Chromium for the browser suites (backends' conformance, the playground, the consumer bundle):
// one place for the executable, the flags that run WebGL and WebGPU on SwiftShader in a closed network,
// the opt-out, and the static file server the pages are loaded from.
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';

/** Debian's chromium, or DETKIT_CHROMIUM. */
export const CHROMIUM = process.env.DETKIT_CHROMIUM ?? '/usr/bin/chromium';

/** DETKIT_SKIP_BROWSER=1 skips every browser suite (for machines without Chromium). */
export const BROWSER_OPTED_OUT = process.env.DETKIT_SKIP_BROWSER === '1';

/** WebGL and WebGPU on SwiftShader (a CPU emulation of a GPU), no sandbox, no network chatter. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--enable-unsafe-swiftshader',
  '--enable-unsafe-webgpu',
  '--disable-gpu-sandbox',
  // On a loaded machine (CI runs the suites side by side on two cores) a starved GPU process must not be
  // killed as hung: that loses every WebGL context of the page.
  '--disable-gpu-watchdog',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * Starts headless Chromium with {@link CHROMIUM_ARGS}; a missing executable is an error that says how to
 * install it or opt out.
 * @returns {Promise<import('playwright-core').Browser>}
 */
export async function launchChromium() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium), set DETKIT_CHROMIUM, or opt out with DETKIT_SKIP_BROWSER=1`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/** A page that stopped making progress (a hung GPU process, say): {@link waitForPageResult} gave up on it. */
export class PageStalledError extends Error {
  /**
   * @param {string} message
   * @param {unknown} progress what the page last reported as its progress
   */
  constructor(message, progress) {
    super(message);
    this.name = 'PageStalledError';
    this.progress = progress;
  }
}

/**
 * Waits for the page to set `window[key]` and returns it. Slowness is not failure: on a loaded machine a
 * page may take minutes; the page sets `window[progressKey]` to anything that changes as it works (a
 * case counter, say), and only a page whose progress has not changed for `stallMs` (or that runs past
 * `totalMs`) is given up on, with a {@link PageStalledError} naming where it stopped. Each look at the page
 * is itself bounded: a renderer blocked in a synchronous GPU read does not block the test.
 * @param {import('playwright-core').Page} page
 * @param {{ key?: string, progressKey?: string, stallMs?: number, totalMs?: number, pollMs?: number }} [options]
 *   defaults: `__detkit`, `__detkitProgress`, 120 s, 900 s, 500 ms
 * @returns {Promise<unknown>}
 */
export async function waitForPageResult(page, options = {}) {
  const { key = '__detkit', progressKey = '__detkitProgress', stallMs = 120_000, totalMs = 900_000, pollMs = 500 } = options;
  const start = Date.now();
  let progress;
  let lastChange = start;
  for (;;) {
    const now = Date.now();
    const look = page.evaluate(([k, p]) => ({ value: window[k], progress: window[p] }), [key, progressKey]);
    let timer;
    const seen = await Promise.race([look, new Promise((resolve) => (timer = setTimeout(resolve, Math.max(1000, stallMs - (now - lastChange)))))]);
    clearTimeout(timer);
    if (seen?.value !== undefined) return seen.value;
    if (seen && JSON.stringify(seen.progress) !== JSON.stringify(progress)) {
      progress = seen.progress;
      lastChange = Date.now();
    }
    const where = `last progress: ${JSON.stringify(progress) ?? 'none'}${seen ? '' : '; the page did not answer'}`;
    if (Date.now() - lastChange >= stallMs) throw new PageStalledError(`the page made no progress for ${Math.round(stallMs / 1000)} s (${where})`, progress);
    if (Date.now() - start >= totalMs) throw new PageStalledError(`the page did not finish in ${Math.round(totalMs / 1000)} s (${where})`, progress);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/**
 * Runs `run` up to `attempts` times, again only after a failure the machine caused rather than the code
 * under test: a {@link PageStalledError}, an error for which `transientError` gives a reason, or a result
 * for which `transientResult` gives one (a GPU context Chromium lost on its own, say). Each retry is printed
 * with `what`, the reason and `context()`. Any other error is thrown at once; after the last attempt its
 * error is thrown and its result returned, whatever they are, for the test's assertions to report.
 * @template T
 * @param {string} what
 * @param {() => Promise<T>} run
 * @param {{ attempts?: number, transientError?: (error: unknown) => string | undefined, transientResult?: (result: T) => string | undefined, context?: () => string }} [options]
 * @returns {Promise<T>}
 */
export async function retryTransient(what, run, options = {}) {
  const { attempts = 3, transientError = () => undefined, transientResult = () => undefined, context = () => '' } = options;
  for (let attempt = 1; ; attempt++) {
    let why;
    try {
      const result = await run();
      why = transientResult(result);
      if (why === undefined || attempt === attempts) return result;
    } catch (error) {
      why = error instanceof PageStalledError ? error.message : transientError(error);
      if (why === undefined || attempt === attempts) throw error;
    }
    const more = context();
    console.warn(`${what}, attempt ${attempt}: ${why}; trying again${more ? `\n${more}` : ''}`);
  }
}

/**
 * Closes a browser, giving up after `ms` (a browser whose GPU process hung may not close cleanly; the
 * test goes on, and playwright kills it when the worker exits).
 * @param {import('playwright-core').Browser | undefined} browser
 * @param {number} [ms] default 30 s
 */
export async function closeBrowser(browser, ms = 30_000) {
  if (!browser) return;
  let timer;
  await Promise.race([browser.close().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

const CONTENT_TYPES = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
};

/**
 * Serves the files under `dir` from a localhost HTTP server, as any static host would (`/` is
 * `index.html`; anything outside `dir` or missing is a 404). `close()` stops the server and deletes `dir`.
 * @param {string} dir
 * @returns {Promise<{ url: string, dir: string, close(): Promise<void> }>}
 */
export async function serveDirectory(dir) {
  const root = path.resolve(dir);
  const server = http.createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = path.join(root, path.normalize(pathname === '/' ? '/index.html' : pathname));
    try {
      if (!file.startsWith(root + path.sep) || !statSync(file).isFile()) throw new Error('not a file');
      res.writeHead(200, { 'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream' });
      res.end(readFileSync(file));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${port}/`,
    dir: root,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
