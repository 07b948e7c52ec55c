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
