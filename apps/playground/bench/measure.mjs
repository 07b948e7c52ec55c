#!/usr/bin/env node
// Measures what apps/playground/README.md records, in headless Chromium (SwiftShader for WebGL and WebGPU:
// a CPU emulation of a GPU): the "Look inside" redraw time for the 22,500 anchors of an 800 x 800 input
// (a threshold slider moved 30 times), and training steps/s of the page's default SSD on each backend.
// Run after `pnpm --filter @detkit/playground build`:
//   node bench/measure.mjs [--steps 10] [--model ssd | faster-rcnn] [backends...]
import { existsSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, '..', 'dist');
const args = process.argv.slice(2);
const stepsAt = args.indexOf('--steps');
const STEPS = stepsAt >= 0 ? Number(args.splice(stepsAt, 2)[1]) : 10;
const modelAt = args.indexOf('--model');
const MODEL = modelAt >= 0 ? args.splice(modelAt, 2)[1] : 'ssd';
const WARMUP = 2;
const backends = args.length ? args : ['wasm', 'cpu', 'webgl', 'webgpu'];
const CHROMIUM = process.env.DETKIT_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--enable-unsafe-swiftshader', '--enable-unsafe-webgpu', '--disable-gpu-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };

if (!existsSync(path.join(dist, 'index.html'))) throw new Error('build first: pnpm --filter @detkit/playground build');
const server = http.createServer((req, res) => {
  const p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  const file = path.join(dist, p === '/' ? 'index.html' : p);
  if (!file.startsWith(dist) || !existsSync(file) || !statSync(file).isFile()) return res.writeHead(404).end();
  res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
page.on('pageerror', (e) => console.error('pageerror', e.message));
await page.goto(`http://127.0.0.1:${server.address().port}/`);
await page.waitForFunction(() => window.__playground?.ready || window.__playground?.error, null, { timeout: 120_000 });

const redraws = await page.evaluate(() => {
  const input = document.querySelector('#in-high');
  const times = [];
  for (let i = 0; i < 33; i++) {
    input.value = String(i % 2 ? 0.7 : 0.65);
    input.dispatchEvent(new Event('input', { bubbles: true }));
    times.push([window.__playground.inspect.redrawMs, window.__playground.inspect.result.computeMs, window.__playground.inspect.drawMs]);
  }
  return { times: times.slice(3), anchors: window.__playground.inspect.result.frcnn.count };
});
const pictures = Object.keys(redraws.times[0][2]);
const q = (v, f) => [...v].sort((a, b) => a - b)[Math.floor(f * (v.length - 1))];
const total = redraws.times.map((t) => t[0]);
const packages = redraws.times.map((t) => t[1]);
console.log(`load ${os.loadavg()[0].toFixed(2)}, ${os.cpus().length} cores, ${os.cpus()[0]?.model}`);
console.log(`redraw, ${redraws.anchors} anchors: median ${q(total, 0.5).toFixed(1)} ms, p90 ${q(total, 0.9).toFixed(1)} ms (packages: median ${q(packages, 0.5).toFixed(1)} ms)`);
console.log(`  drawing, median per picture: ${pictures.map((k) => `${k} ${q(redraws.times.map((t) => t[2][k]), 0.5).toFixed(1)}`).join(', ')} ms`);

console.log(`${MODEL}, the page's default settings otherwise (${STEPS} timed steps after ${WARMUP})`);
console.log('| backend | first step (compiles) | steps/s after warm-up | loss first -> last |');
console.log('|---|---:|---:|---|');
for (const backend of backends) {
  try {
    const r = await page.evaluate(
      async ({ backend, n, model }) => {
        const t = window.__playground.train;
        await t.setup(model === 'ssd' ? { evalEvery: 0 } : { evalEvery: 0, model, channels: [16, 32, 64] }, backend);
        await t.client.run(n);
        return t.steps.map((s) => ({ ms: s.ms, loss: s.loss, backend: s.backend }));
      },
      { backend, n: STEPS + WARMUP, model: MODEL },
    );
    const timed = r.slice(WARMUP);
    const sps = (1000 * timed.length) / timed.reduce((a, s) => a + s.ms, 0);
    console.log(`| ${r[0].backend} | ${(r[0].ms / 1000).toFixed(1)} s | ${sps.toFixed(2)} | ${r[0].loss.toFixed(2)} -> ${r.at(-1).loss.toFixed(2)} |`);
  } catch (error) {
    console.log(`| ${backend} | failed: ${String(error.message ?? error).split('\n')[0]} | | |`);
  }
}
await browser.close();
server.close();
