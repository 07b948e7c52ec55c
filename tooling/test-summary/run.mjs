#!/usr/bin/env node
// The project's test command: builds, typechecks, lints and tests every workspace package through turbo
// (in ^build order), then adds up the vitest JSON reports (test-results.json) of all packages and prints
// the plain line CI reads: "N passed, N failed". A task that fails without a report (a build, typecheck
// or lint error, or a test file that cannot load) counts as one failure. Exit code: non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const groups = ['packages', 'apps', 'tooling'];

function workspaceDirs() {
  return groups.flatMap((g) => {
    const dir = path.join(root, g);
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, 'package.json')))
      .map((d) => path.join(dir, d.name));
  });
}

/**
 * The backend conformance suite's browser half (packages/backends/test/browser.test.ts) drives Debian's
 * headless Chromium. When it is missing and this machine may install it (apt-get, as root or through
 * passwordless sudo), install it; otherwise leave it to that test to fail with what to do. Opt out with
 * DETKIT_SKIP_BROWSER=1, or point DETKIT_CHROMIUM at another build.
 */
function ensureChromium() {
  if (process.env.DETKIT_SKIP_BROWSER === '1' || process.env.DETKIT_CHROMIUM) return;
  if (existsSync('/usr/bin/chromium')) return;
  const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
  if (process.platform !== 'linux' || !has('apt-get')) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const sudo = isRoot ? [] : spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0 ? ['sudo', '-n'] : null;
  if (!sudo) return;
  console.log('detkit test: installing chromium (apt-get) for the webgl / webgpu conformance tests');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (...args) => {
    const [cmd, ...rest] = [...sudo, 'apt-get', ...args];
    return spawnSync(cmd, rest, { stdio: ['ignore', 'ignore', 'inherit'], env }).status === 0;
  };
  if (!apt('install', '-y', '-qq', 'chromium')) apt('update', '-qq') && apt('install', '-y', '-qq', 'chromium');
}

ensureChromium();

// Stale reports from an earlier run must not be counted (turbo restores cached ones).
for (const dir of workspaceDirs()) rmSync(path.join(dir, 'test-results.json'), { force: true });

const tasks = process.argv.slice(2).length ? process.argv.slice(2) : ['typecheck', 'lint', 'test'];
const turbo = spawnSync('npx', ['turbo', 'run', ...tasks, '--continue', '--output-logs=errors-only', '--summarize'], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, FORCE_COLOR: '0' },
});

let passed = 0;
let failed = 0;
let skipped = 0;
const reports = [];
for (const dir of workspaceDirs()) {
  const file = path.join(dir, 'test-results.json');
  if (!existsSync(file)) continue;
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A suite that failed to load has no tests but numFailedTestSuites > 0.
  const brokenSuites = (r.testResults ?? []).filter((s) => s.status === 'failed' && (s.assertionResults ?? []).length === 0).length;
  failed += brokenSuites;
  reports.push(`${path.relative(root, dir)}: ${r.numPassedTests} passed, ${r.numFailedTests + brokenSuites} failed`);
}

// Tasks that failed outright (build, typecheck, lint, or a test run without a report).
const summaryDir = path.join(root, '.turbo', 'runs');
let failedTasks = [];
if (existsSync(summaryDir)) {
  const latest = readdirSync(summaryDir).filter((f) => f.endsWith('.json')).sort().pop();
  if (latest) {
    const run = JSON.parse(readFileSync(path.join(summaryDir, latest), 'utf8'));
    failedTasks = (run.tasks ?? []).filter((t) => t.execution?.exitCode && t.execution.exitCode !== 0).map((t) => t.taskId);
  }
}
for (const id of failedTasks) {
  const [pkg, task] = id.split('#');
  const dir = workspaceDirs().find((d) => JSON.parse(readFileSync(path.join(d, 'package.json'), 'utf8')).name === pkg);
  const hasReport = task === 'test' && dir && existsSync(path.join(dir, 'test-results.json'));
  if (!hasReport) {
    failed += 1;
    reports.push(`${id}: task failed`);
  }
}
if (turbo.status !== 0 && failed === 0) {
  failed += 1;
  reports.push(`turbo exited with ${turbo.status}`);
}

console.log('');
for (const line of reports) console.log(`  ${line}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
