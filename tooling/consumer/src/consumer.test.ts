// The consumer suite (issue 14): every published package packed as `pnpm publish` would pack it, the
// tarballs installed with plain npm into fresh projects outside the workspace, and used as a new user would.
//
// Needs the packages built (turbo runs this after ^build), npm with registry access (or a warm npm cache)
// for the third-party dependencies, and Chromium for the browser part (/usr/bin/chromium or DETKIT_CHROMIUM;
// DETKIT_SKIP_BROWSER=1 skips that part explicitly, as in @detkit/backends).
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { setupBackend, tf } from '@detkit/core';
import { rpnLoss } from '@detkit/losses';
import { buildRpnTargets } from '@detkit/samplers';
import { BROWSER_OPTED_OUT, closeBrowser, launchChromium, retryTransient, serveDirectory, waitForPageResult } from '@detkit/test-utils/browser';
import { build } from 'esbuild';
import { publint } from 'publint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RATIO, measureBundles } from './bundle-size.mjs';

const exec = promisify(execFile);
const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = path.resolve(HERE, '../..');
const SAMPLE_PNG = path.join(HERE, 'fixtures', 'sample.png');

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  repository?: unknown;
  homepage?: string;
  keywords?: string[];
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  optionalDependencies?: Record<string, string>;
  bin?: Record<string, string>;
  exports?: Record<string, unknown>;
}

interface Packed {
  name: string;
  dir: string;
  tarball: string;
  manifest: Manifest;
  files: string[];
}

async function run(cmd: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const { stdout } = await exec(cmd, [...args], { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`.slice(0, 8000));
  }
}

/** pnpm as the test command runs it (pnpm's own CLI when it started us), else `npx -y pnpm@10`. */
function pnpm(args: readonly string[]): [string, string[]] {
  const execpath = process.env.npm_execpath;
  if (execpath && /pnpm/.test(path.basename(execpath))) return execpath.endsWith('.js') || execpath.endsWith('.cjs') ? [process.execPath, [execpath, ...args]] : [execpath, [...args]];
  return ['npx', ['-y', 'pnpm@10', ...args]];
}

function workspacePackages(group: string): { dir: string; manifest: Manifest }[] {
  const base = path.join(ROOT, group);
  return readdirSync(base, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(base, d.name, 'package.json')))
    .map((d) => ({ dir: path.join(base, d.name), manifest: JSON.parse(readFileSync(path.join(base, d.name, 'package.json'), 'utf8')) as Manifest }));
}

// The published packages: every public one in packages/, and the command line (@detkit/cli) in apps/.
const PUBLISHED = [...workspacePackages('packages'), ...workspacePackages('apps')].filter((p) => !p.manifest.private);
const PRIVATE_NAMES = new Set(['packages', 'apps', 'tooling'].flatMap(workspacePackages).filter((p) => p.manifest.private).map((p) => p.manifest.name));

let work: string;
const packed = new Map<string, Packed>();
let full: string;
let rpnOnly: string;
let cli: string;

/** A command-line package: executables, and no module to import but its package.json (no types for attw to check). */
function isCliOnly(manifest: Manifest): boolean {
  return manifest.bin !== undefined && Object.keys(manifest.exports ?? {}).every((k) => k === './package.json');
}

/** The @detkit packages `name` depends on, itself included (from the packed manifests). */
function detkitClosure(name: string, seen = new Set<string>()): string[] {
  if (seen.has(name)) return [...seen];
  seen.add(name);
  for (const dep of Object.keys(packed.get(name)?.manifest.dependencies ?? {})) if (dep.startsWith('@detkit/')) detkitClosure(dep, seen);
  return [...seen];
}

/** `pnpm pack` (what `pnpm publish` and `changeset publish` upload) of one package into its own folder under `dest`. */
async function pack(dir: string, dest: string): Promise<Packed> {
  const out = path.join(dest, path.basename(dir));
  mkdirSync(out);
  const [cmd, args] = pnpm(['pack', '--pack-destination', out]);
  await run(cmd, args, dir);
  const tarball = readdirSync(out).find((f) => f.endsWith('.tgz'));
  if (tarball === undefined) throw new Error(`pnpm pack wrote no tarball for ${dir}`);
  const file = path.join(out, tarball);
  const manifest = JSON.parse(await run('tar', ['-xzOf', file, 'package/package.json'], dest)) as Manifest;
  const files = (await run('tar', ['-tzf', file], dest)).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
  return { name: manifest.name, dir, tarball: file, manifest, files };
}

async function npmInstall(project: string, specs: readonly string[]): Promise<void> {
  mkdirSync(project, { recursive: true });
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: path.basename(project), version: '0.0.0', private: true }, null, 2));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', '--no-package-lock', ...specs], project, { npm_config_workspaces: '' });
}

function tarballsOf(names: readonly string[]): string[] {
  return names.map((n) => {
    const p = packed.get(n);
    if (!p) throw new Error(`${n} was not packed`);
    return p.tarball;
  });
}

beforeAll(async () => {
  // Outside the workspace: npm must not find the monorepo's package.json or node_modules above the projects.
  work = mkdtempSync(path.join(os.tmpdir(), 'detkit-consumer-'));
  const tarballs = path.join(work, 'tarballs');
  mkdirSync(tarballs);
  // A few at a time (2 cores are shared by every task of the test command).
  const queue = [...PUBLISHED];
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
        const one = await pack(p.dir, tarballs);
        packed.set(one.name, one);
      }
    }),
  );
  full = path.join(work, 'full');
  rpnOnly = path.join(work, 'rpn-only');
  cli = path.join(work, 'cli');
  const all = [...packed.keys()].filter((n) => n !== '@detkit/cli');
  // The RPN pieces and what they depend on, nothing else (the dependency closure of samplers and losses).
  const rpnNames = ['@detkit/core', '@detkit/boxes', '@detkit/anchors', '@detkit/matchers', '@detkit/samplers', '@detkit/losses'];
  await Promise.all([
    npmInstall(full, [...tarballsOf(all), '@tensorflow/tfjs-core@4.22.0', '@tensorflow/tfjs-backend-wasm@4.22.0', '@tensorflow/tfjs-backend-webgl@4.22.0']),
    npmInstall(rpnOnly, [...tarballsOf(rpnNames), '@tensorflow/tfjs-core@4.22.0']),
    // `npm install @detkit/cli` alone: the CLI and the detkit packages it depends on, nothing else named.
    npmInstall(cli, tarballsOf(detkitClosure('@detkit/cli'))),
  ]);
}, 600_000);

afterAll(() => {
  if (work && process.env.DETKIT_KEEP_CONSUMER !== '1') rmSync(work, { recursive: true, force: true });
});

/** The consumer page (bundle load, two backends, a lost context) at most; slowness alone is not failure. */
const PAGE_TOTAL_MS = 300_000;

describe('packed manifests and tarballs', () => {
  it('packs every published package', () => {
    expect([...packed.keys()].sort()).toEqual(PUBLISHED.map((p) => p.manifest.name).sort());
    expect(packed.size).toBeGreaterThanOrEqual(11);
  });

  it('carry no devDependencies, no workspace: ranges, no private packages; detkit ranges are ^version', () => {
    for (const { name, manifest } of packed.values()) {
      expect(manifest.devDependencies, name).toBeUndefined();
      expect(JSON.stringify(manifest), name).not.toMatch(/workspace:/);
      const deps = { ...manifest.dependencies, ...manifest.peerDependencies, ...manifest.optionalDependencies };
      for (const [dep, range] of Object.entries(deps)) {
        expect(PRIVATE_NAMES.has(dep), `${name} depends on private ${dep}`).toBe(false);
        const target = packed.get(dep);
        if (target) expect(range, `${name} -> ${dep}`).toBe(`^${target.manifest.version}`);
      }
    }
  });

  it('have license, repository, homepage, engines and keywords, LICENSE (Apache-2.0) and README in the tarball', () => {
    const license = readFileSync(path.join(ROOT, 'LICENSE'), 'utf8');
    expect(license).toMatch(/Apache License\s+Version 2\.0, January 2004/);
    for (const { name, manifest, files, dir } of packed.values()) {
      expect(manifest.license, name).toBe('Apache-2.0');
      expect(manifest.repository, name).toBeTruthy();
      expect(manifest.homepage, name).toMatch(/^https:\/\//);
      expect(manifest.engines?.node, name).toBe('>=20.19');
      expect(manifest.keywords?.length ?? 0, name).toBeGreaterThan(0);
      expect(files, name).toContain('LICENSE');
      expect(files, name).toContain('README.md');
      expect(readFileSync(path.join(dir, 'LICENSE'), 'utf8'), `${name} LICENSE`).toBe(license);
    }
  });

  it('every README opens with its npm install line (non-optional peers included) and a code example', () => {
    for (const { name, manifest, dir } of packed.values()) {
      const readme = readFileSync(path.join(dir, 'README.md'), 'utf8');
      const firstBlock = /```(\w*)\n([\s\S]*?)```/.exec(readme);
      expect(firstBlock, `${name}: no code block`).not.toBeNull();
      const install = firstBlock![2]!.split('\n').find((l) => l.startsWith('npm install '));
      expect(install, `${name}: the first code block must be the npm install line`).toBeDefined();
      const words = install!.split(/\s+/);
      expect(words, name).toContain(name);
      const peers = Object.keys(manifest.peerDependencies ?? {}).filter((p) => !manifest.peerDependenciesMeta?.[p]?.optional);
      for (const peer of peers) expect(words.some((w) => w === peer || w.startsWith(`${peer}@`)), `${name}: install line lacks peer ${peer}`).toBe(true);
      // ...followed by a runnable example: code, or for a command-line package its commands through npx.
      const rest = readme.slice(firstBlock!.index + firstBlock![0].length);
      if (isCliOnly(manifest)) {
        for (const bin of Object.keys(manifest.bin!)) expect(new RegExp('```(sh|bash)\\n[^`]*npx ' + bin + ' ').test(rest), `${name}: no shell example running npx ${bin}`).toBe(true);
      } else {
        expect(/```(ts|js|typescript|javascript)\n/.test(rest), `${name}: no TypeScript / JavaScript example after the install line`).toBe(true);
      }
    }
  });
});

describe('release path', () => {
  it('changeset version (in a scratch copy of the workspace manifests) bumps every published package, writes changelogs, keeps private ones', async () => {
    const scratch = path.join(work, 'release');
    const copy = (rel: string) => {
      mkdirSync(path.dirname(path.join(scratch, rel)), { recursive: true });
      copyFileSync(path.join(ROOT, rel), path.join(scratch, rel));
    };
    copy('package.json');
    copy('pnpm-workspace.yaml');
    for (const f of readdirSync(path.join(ROOT, '.changeset'))) copy(path.join('.changeset', f));
    const all = ['packages', 'apps', 'tooling'].flatMap(workspacePackages);
    for (const p of all) copy(path.relative(ROOT, path.join(p.dir, 'package.json')));
    const pending = readdirSync(path.join(scratch, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
    expect(pending.length, 'no changesets pending: nothing to release').toBeGreaterThan(0);
    await run(process.execPath, [path.join(ROOT, 'node_modules', '@changesets', 'cli', 'bin.js'), 'version'], scratch);
    expect(readdirSync(path.join(scratch, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md')).toEqual([]);
    for (const p of all) {
      const rel = path.relative(ROOT, p.dir);
      const after = JSON.parse(readFileSync(path.join(scratch, rel, 'package.json'), 'utf8')) as Manifest;
      if (p.manifest.private) {
        expect(after.version, `${p.manifest.name} is private: not versioned`).toBe(p.manifest.version);
        continue;
      }
      expect(after.version, `${p.manifest.name} version`).not.toBe(p.manifest.version);
      const changelog = readFileSync(path.join(scratch, rel, 'CHANGELOG.md'), 'utf8');
      expect(changelog, p.manifest.name).toContain(`## ${after.version}`);
      // Inter-package ranges stay workspace:^ in the repo; pnpm pack / publish turns them into ^version (checked above).
      for (const [dep, range] of Object.entries(after.dependencies ?? {})) if (dep.startsWith('@detkit/')) expect(range, `${p.manifest.name} -> ${dep}`).toBe('workspace:^');
    }
  });
});

describe('attw and publint', () => {
  it('attw: no problem under node10, node16 (CJS and ESM) and bundler resolution', async () => {
    const problems: string[] = [];
    for (const { name, tarball, manifest } of packed.values()) {
      const result = await checkPackage(createPackageFromTarballData(new Uint8Array(readFileSync(tarball))));
      // A command-line package has no module and no types: attw reports `types: false` and nothing to check.
      if (isCliOnly(manifest) && !('problems' in result) && result.types === false) continue;
      if (!('problems' in result)) throw new Error(`attw could not analyse ${name}`);
      for (const p of result.problems) problems.push(`${name}: ${p.kind}${'entrypoint' in p ? ` at ${String(p.entrypoint)}` : ''}${'resolutionKind' in p ? ` (${String(p.resolutionKind)})` : ''}`);
    }
    expect(problems).toEqual([]);
  });

  it('publint: no error, warning or suggestion', async () => {
    const messages: string[] = [];
    for (const { name, tarball } of packed.values()) {
      const dir = path.join(work, 'publint', name.replace('/', '__'));
      mkdirSync(dir, { recursive: true });
      await run('tar', ['-xzf', tarball, '-C', dir], dir);
      const r = await publint({ pkgDir: path.join(dir, 'package'), level: 'suggestion', strict: true, pack: false });
      for (const m of r.messages) messages.push(`${name}: ${m.type} ${m.code} ${JSON.stringify(m.args)} at ${m.path.join('.')}`);
    }
    expect(messages).toEqual([]);
  });
});

/**
 * Expected values, by hand: boxes b0 = [0, 0, 10, 10], b1 = [5, 5, 15, 15], b2 = [20, 20, 30, 30].
 * IoU(b0, b1) = 25 / (100 + 100 - 25) = 1/7; b2 overlaps neither. NMS at IoU 0.1 over scores 0.9, 0.8,
 * 0.7 keeps b0, drops b1 (1/7 > 0.1), keeps b2. The gradient of sum(x^2) at [1, 2, 3] is 2x = [2, 4, 6].
 */
const BOXES_SCRIPT = `
await setupBackend('wasm');
const b = tf.tensor2d([[0, 0, 10, 10], [5, 5, 15, 15], [20, 20, 30, 30]]);
const iou = boxIou(b, b);
const keep = nms(b, tf.tensor1d([0.9, 0.8, 0.7]), { iouThreshold: 0.1 });
const grad = tf.grad((x) => tf.sum(tf.square(x)))(tf.tensor1d([1, 2, 3]));
console.log(JSON.stringify({ backend: tf.getBackend(), iou: Array.from(iou.dataSync()), keep: Array.from(keep.dataSync()), grad: Array.from(grad.dataSync()) }));
`;

function checkBoxesOutput(stdout: string): void {
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as { backend: string; iou: number[]; keep: number[]; grad: number[] };
  expect(r.backend).toBe('wasm');
  const seventh = Math.fround(1 / 7);
  const expected = [1, seventh, 0, seventh, 1, 0, 0, 0, 1];
  r.iou.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
  expect(r.keep).toEqual([0, 2]);
  expect(r.grad).toEqual([2, 4, 6]);
}

describe('Node, from the installed tarballs', () => {
  it('an ESM script computes boxIou and nms on wasm (and gradients work)', async () => {
    writeFileSync(path.join(full, 'boxes.mjs'), `import { boxIou, nms } from '@detkit/boxes';\nimport { setupBackend, tf } from '@detkit/core';\n${BOXES_SCRIPT}`);
    checkBoxesOutput(await run(process.execPath, ['boxes.mjs'], full));
  });

  it('a CommonJS script computes boxIou and nms on wasm (require works)', async () => {
    writeFileSync(path.join(full, 'boxes.cjs'), `const { boxIou, nms } = require('@detkit/boxes');\nconst { setupBackend, tf } = require('@detkit/core');\n(async () => {\n${BOXES_SCRIPT}\n})().catch((e) => { console.error(e); process.exit(1); });\n`);
    checkBoxesOutput(await run(process.execPath, ['boxes.cjs'], full));
  });

  it('buildRpnTargets + rpnLoss with only samplers, matchers, losses and their dependencies installed', async () => {
    const installed = readdirSync(path.join(rpnOnly, 'node_modules', '@detkit')).sort();
    expect(installed).toEqual(['anchors', 'boxes', 'core', 'losses', 'matchers', 'samplers']);
    const script = `import { setupBackend, tf } from '@detkit/core';
import { buildRpnTargets } from '@detkit/samplers';
import { rpnLoss } from '@detkit/losses';
await setupBackend('wasm');
const anchors = tf.tensor2d([[0, 0, 16, 16], [8, 8, 24, 24], [16, 16, 32, 32], [0, 16, 16, 32]]);
const gt = tf.tensor2d([[2, 2, 18, 18]]);
const t = buildRpnTargets(anchors, gt, { sampler: false });
const loss = rpnLoss(tf.tensor1d([2, -1, -3, 0.5]), tf.zeros([4, 4]), t.labels, t.regressionTargets);
console.log(JSON.stringify({ labels: Array.from(t.labels.dataSync()), total: loss.total.dataSync()[0], classification: loss.classification.dataSync()[0], regression: loss.regression.dataSync()[0] }));
`;
    writeFileSync(path.join(rpnOnly, 'rpn.mjs'), script);
    const got = JSON.parse((await run(process.execPath, ['rpn.mjs'], rpnOnly)).trim().split('\n').pop()!) as Record<string, unknown>;
    // The same computation with the workspace's packages: the packed ones must give the same numbers.
    await setupBackend('wasm');
    const anchors = tf.tensor2d([[0, 0, 16, 16], [8, 8, 24, 24], [16, 16, 32, 32], [0, 16, 16, 32]]);
    const t = buildRpnTargets(anchors, tf.tensor2d([[2, 2, 18, 18]]), { sampler: false });
    const loss = rpnLoss(tf.tensor1d([2, -1, -3, 0.5]), tf.zeros([4, 4]), t.labels, t.regressionTargets);
    expect(got).toEqual({ labels: Array.from(t.labels.dataSync()), total: loss.total.dataSync()[0], classification: loss.classification.dataSync()[0], regression: loss.regression.dataSync()[0] });
    expect(Number.isFinite(got.total as number)).toBe(true);
  });

  it('tsc --noEmit: node16 (ESM and CommonJS files) and bundler resolution, strict', async () => {
    const uses = `
const iou: tf.Tensor2D = boxIou([[0, 0, 1, 1]], [[0, 0, 1, 1]]);
const anchors = generateAnchors;
const matcher = createMaxIouMatcher;
const targets = buildRpnTargets;
const loss = rpnLoss;
const head = createRpnHead;
const backend: BackendName = 'wasm';
const ap = vocAp;
const coco = parseCoco;
const files = readCoco;
async function detect(): Promise<Detection[]> {
  const detector: ImageDetector = await loadDetector('model');
  return detector.detect('image.png', { scoreThreshold: 0.5, maxDetections: 10 });
}
export { iou, anchors, matcher, targets, loss, head, backend, ap, coco, files, detect, useBackend };
`;
    const esmImports = `import { tf } from '@detkit/core';
import '@detkit/core/gradients';
import { boxIou } from '@detkit/boxes';
import { generateAnchors } from '@detkit/anchors';
import { createMaxIouMatcher } from '@detkit/matchers';
import { buildRpnTargets } from '@detkit/samplers';
import { rpnLoss } from '@detkit/losses';
import { createRpnHead } from '@detkit/heads';
import { useBackend, type BackendName } from '@detkit/backends';
import { vocAp } from '@detkit/eval';
import { parseCoco } from '@detkit/data';
import { readCoco } from '@detkit/data/node';
import { loadDetector, type Detection, type ImageDetector } from '@detkit/models';
`;
    const cjsImports = esmImports
      .replace("import '@detkit/core/gradients';\n", "import gradients = require('@detkit/core/gradients');\n")
      .replace(/import \{ ([^}]*) \} from '([^']+)';/g, (_, names: string, from: string) => {
        const mod = `m_${from.replace(/[^a-z]/g, '_')}`;
        return `import ${mod} = require('${from}');\n${names
          .split(',')
          .map((n) => n.trim())
          .map((n) => (n.startsWith('type ') ? `type ${n.slice(5)} = ${mod}.${n.slice(5)};` : `const ${n} = ${mod}.${n};`))
          .join('\n')}`;
      })
      .replace('const tf = m__detkit_core.tf;', 'import tf = m__detkit_core.tf;');
    writeFileSync(path.join(full, 'types-esm.mts'), esmImports + uses);
    writeFileSync(path.join(full, 'types-cjs.cts'), cjsImports + 'void gradients;\n' + uses.replace(/^export \{.*$/m, ''));
    writeFileSync(path.join(full, 'types-bundler.ts'), esmImports + uses);
    // Default `types`: tfjs-core's own declarations need the @types packages it depends on (@types/long, ...).
    const common = { strict: true, noEmit: true, skipLibCheck: false, lib: ['es2022', 'dom'], target: 'es2022' };
    writeFileSync(path.join(full, 'tsconfig.node16.json'), JSON.stringify({ compilerOptions: { ...common, module: 'node16', moduleResolution: 'node16' }, files: ['types-esm.mts', 'types-cjs.cts'] }));
    writeFileSync(path.join(full, 'tsconfig.bundler.json'), JSON.stringify({ compilerOptions: { ...common, module: 'esnext', moduleResolution: 'bundler' }, files: ['types-bundler.ts'] }));
    const tsc = path.join(HERE, 'node_modules', 'typescript', 'bin', 'tsc');
    await Promise.all(['tsconfig.node16.json', 'tsconfig.bundler.json'].map((config) => run(process.execPath, [tsc, '-p', config], full)));
  });

  it(`a browser bundle of @detkit/boxes + wasm is at most ${MAX_RATIO}x tfjs-core + wasm (gzipped)`, async () => {
    const r = await measureBundles(full);
    const base = r['tfjs-core + wasm (baseline)']!.gzipped;
    for (const name of ['@detkit/boxes (all) + wasm', '@detkit/boxes { boxIou, nms } + wasm']) {
      expect(r[name]!.gzipped / base, name).toBeLessThanOrEqual(MAX_RATIO);
    }
  });
});

interface BrowserDetections {
  error?: string;
  bytes?: Detection[];
  element?: Detection[];
}
interface Detection {
  box: number[];
  score: number;
  label: number;
  className: string;
}

/** Same detections within `tol` (box coordinates and score), matched greedily so near-tied scores may swap. */
function expectSameDetections(actual: Detection[] | undefined, expected: Detection[], tol: number, what: string): void {
  expect(actual, what).toBeDefined();
  expect(actual!.length, `${what}: count`).toBe(expected.length);
  const unused = new Set(actual!.keys());
  for (const e of expected) {
    const match = [...unused].find((i) => {
      const a = actual![i]!;
      return a.label === e.label && a.className === e.className && Math.abs(a.score - e.score) <= tol && a.box.every((v, k) => Math.abs(v - e.box[k]!) <= tol);
    });
    expect(match, `${what}: no detection within ${tol} of ${JSON.stringify(e)}; got ${JSON.stringify(actual)}`).toBeDefined();
    unused.delete(match!);
  }
}

describe('loadDetector + detect: Node and headless Chromium (webgl, wasm)', () => {
  const options = { scoreThreshold: 0.05, maxDetections: 20 };
  let node: Detection[];

  it('Node: a tiny SSD saved in the test, loaded from its folder, detects on the committed sample image', async () => {
    copyFileSync(SAMPLE_PNG, path.join(full, 'sample.png'));
    const script = `import { mkdirSync, writeFileSync } from 'node:fs';
import { setupBackend, tf } from '@detkit/core';
import { createSsd, loadDetector, saveDetector } from '@detkit/models';
await setupBackend('wasm');
const ssd = createSsd({ numClasses: 2, imageSize: 64, seed: 0 });
mkdirSync('model', { recursive: true });
await saveDetector(ssd, tf.io.withSaveHandler(async (a) => {
  writeFileSync('model/weights.bin', new Uint8Array(a.weightData));
  writeFileSync('model/model.json', JSON.stringify({ format: a.format, generatedBy: a.generatedBy, modelTopology: a.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }], userDefinedMetadata: { classes: ['circle', 'square'] } }));
  return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
}));
ssd.dispose();
const detector = await loadDetector('model');
console.log(JSON.stringify(await detector.detect('sample.png', ${JSON.stringify(options)})));
`;
    writeFileSync(path.join(full, 'detect.mjs'), script);
    node = JSON.parse((await run(process.execPath, ['detect.mjs'], full)).trim().split('\n').pop()!) as Detection[];
    expect(node.length).toBeGreaterThan(0);
    for (const d of node) {
      expect(d.box[0]).toBeGreaterThanOrEqual(0);
      expect(d.box[2]).toBeLessThanOrEqual(128);
      expect(['circle', 'square']).toContain(d.className);
    }
  });

  it.skipIf(BROWSER_OPTED_OUT)('an esbuild bundle of loadDetector + detect in Chromium matches Node within 1e-4 on webgl and wasm; a lost WebGL context, and one restored empty, throws; useBackend(\'webgl\') recovers', async () => {
    expect(node, 'the Node detections (previous test)').toBeDefined();
    const site = path.join(full, 'site');
    mkdirSync(path.join(site, 'model'), { recursive: true });
    for (const f of ['model.json', 'weights.bin']) copyFileSync(path.join(full, 'model', f), path.join(site, 'model', f));
    copyFileSync(SAMPLE_PNG, path.join(site, 'sample.png'));
    const wasmDist = path.join(full, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
    for (const f of readdirSync(wasmDist).filter((f) => f.endsWith('.wasm'))) copyFileSync(path.join(wasmDist, f), path.join(site, f));
    const page = `import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgl';
import { backend as activeBackend, ready, setBackend } from '@tensorflow/tfjs-core';
import { useBackend } from '@detkit/backends';
import { loadDetector } from '@detkit/models';
const options = ${JSON.stringify(options)};
const results = {};
const contextEvents = [];
// What the test watches to tell a slow page (CI's loaded machine) from a hung one.
let steps = 0;
const step = (where) => (window.__detkitProgress = steps++ + ' ' + where);
const errorOf = async (run) => {
  try {
    return { error: 'no error; detections: ' + JSON.stringify(await run()) };
  } catch (e) {
    return { name: e.name, code: e.code, backend: e.backend, message: e.message };
  }
};
for (const backend of ['webgl', 'wasm']) {
  try {
    if (!(await setBackend(backend))) throw new Error('setBackend(' + backend + ') failed');
    await ready();
    if (backend === 'webgl') {
      // What the browser does to the context on its own, for the failure message (none is expected).
      for (const type of ['webglcontextlost', 'webglcontextrestored']) {
        activeBackend().gpgpu.gl.canvas.addEventListener(type, () => contextEvents.push(type + ' at ' + Math.round(performance.now()) + ' ms'));
      }
    }
    step(backend + ' load');
    const detector = await loadDetector(new URL('model/', location.href).href);
    const bytes = new Uint8Array(await (await fetch('sample.png')).arrayBuffer());
    const img = new Image();
    img.src = 'sample.png';
    await img.decode();
    step(backend + ' detect bytes');
    const fromBytes = await detector.detect(bytes, options);
    step(backend + ' detect element');
    results[backend] = { bytes: fromBytes, element: await detector.detect(img, options) };
    detector.dispose();
  } catch (e) {
    results[backend] = { error: String(e && e.stack || e) };
  }
}
// A WebGL context the browser takes away (WEBGL_lose_context does what a GPU reset does): detect must throw
// detkit's BackendUnavailableError, not return the zeros it read back as "nothing found". Then the context
// comes back empty (tfjs-backend-webgl calls preventDefault() on webglcontextlost, so Chrome restores it
// after a GPU reset; CI saw this, every WebGL result zeros and isContextLost() false): detect must still throw.
try {
  step('lose the context');
  if (!(await setBackend('webgl'))) throw new Error('setBackend(webgl) failed');
  const detector = await loadDetector(new URL('model/', location.href).href);
  const gl = activeBackend().gpgpu.gl;
  const extension = gl.getExtension('WEBGL_lose_context');
  const lostEvent = new Promise((resolve) => gl.canvas.addEventListener('webglcontextlost', resolve, { once: true }));
  extension.loseContext();
  const sample = new Uint8Array(await (await fetch('sample.png')).arrayBuffer());
  results.lost = await errorOf(() => detector.detect(sample, options));
  await lostEvent;
  await new Promise((resolve) => setTimeout(resolve, 0)); // restoring is allowed once the lost event's dispatch is over
  const restoredEvent = new Promise((resolve) => gl.canvas.addEventListener('webglcontextrestored', resolve, { once: true }));
  extension.restoreContext();
  await restoredEvent;
  results.restored = { isContextLost: gl.isContextLost(), ...(await errorOf(() => detector.detect(sample, options))) };
  // The way back the error names: useBackend('webgl') replaces the backend whose context is gone, and the
  // model loaded again detects as before. The old model is disposed after the swap (a no-op, not an error).
  try {
    step('recover');
    await useBackend('webgl');
    detector.dispose();
    const again = await loadDetector(new URL('model/', location.href).href);
    results.recovered = { fresh: activeBackend().gpgpu.gl !== gl, bytes: await again.detect(sample, options) };
    again.dispose();
  } catch (e) {
    results.recovered = { error: String(e && e.stack || e) };
  }
} catch (e) {
  results.lost = { error: String(e && e.stack || e) };
}
results.contextEvents = contextEvents;
window.__detkit = results;
`;
    writeFileSync(path.join(full, 'page.mjs'), page);
    await build({ entryPoints: [path.join(full, 'page.mjs')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', outfile: path.join(site, 'page.js'), logLevel: 'error' });
    writeFileSync(path.join(site, 'index.html'), '<!doctype html><meta charset="utf-8"><title>detkit consumer</title><script type="module" src="page.js"></script>\n');
    const served = await serveDirectory(site);
    try {
      // Chrome on SwiftShader can reset its GPU process on a loaded machine, losing the page's WebGL context
      // and restoring it empty (CI, twice: every WebGL result zeros). detect then throws the lost-context
      // error; only that error, or a page that stopped making progress, gets a fresh browser, at most
      // twice. Any other failure, or a wrong number, fails at once.
      const { results, logs } = await retryTransient('consumer page', () => runPage(served.url), {
        transientResult: (r) => (/lost the WebGL context/.test(r.results['webgl']?.error ?? '') ? `Chromium lost its WebGL context on its own\n${r.logs.slice(-10).join('\n')}` : undefined),
      });
      const context = `WebGL context events: ${JSON.stringify(results['contextEvents'])}\n${logs.slice(-20).join('\n')}`;
      for (const backend of ['webgl', 'wasm']) {
        const r = results[backend]!;
        expect(r.error, `${backend}: ${r.error}\n${context}`).toBeUndefined();
        expectSameDetections(r.bytes, node, 1e-4, `${backend}, PNG bytes (${context})`);
        expectSameDetections(r.element, node, 1e-4, `${backend}, HTMLImageElement (${context})`);
      }
      const lostError = { name: 'BackendUnavailableError', code: 'BACKEND_UNAVAILABLE', backend: 'webgl', message: expect.stringMatching(/^backend 'webgl' is unavailable: detect: the browser lost the WebGL context/) };
      expect(results['lost']).toEqual(lostError);
      expect(results['restored']).toEqual({ isContextLost: false, ...lostError });
      const recovered = results['recovered'] as { fresh?: boolean; bytes?: Detection[]; error?: string } | undefined;
      expect(recovered?.error, "useBackend('webgl') and loadDetector after the loss").toBeUndefined();
      expect(recovered?.fresh, "useBackend('webgl') after the loss made a new WebGL context").toBe(true);
      expectSameDetections(recovered!.bytes, node, 1e-4, "webgl after useBackend('webgl') replaced the lost backend");
    } finally {
      await served.close();
    }
  }, 3 * (PAGE_TOTAL_MS + 30_000) + 60_000);
});

/**
 * Loads the page in a fresh headless Chromium and returns what it left in `window.__detkit`, with the
 * console. A page whose progress stops for 120 s is a PageStalledError naming its last step.
 */
async function runPage(url: string): Promise<{ results: Record<string, BrowserDetections & Record<string, unknown>>; logs: string[] }> {
  const browser = await launchChromium();
  const logs: string[] = [];
  try {
    const tab = await browser.newPage();
    tab.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    tab.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await tab.goto(url);
    const results = (await waitForPageResult(tab, { stallMs: 120_000, totalMs: PAGE_TOTAL_MS })) as Record<string, BrowserDetections & Record<string, unknown>>;
    return { results, logs };
  } finally {
    await closeBrowser(browser);
  }
}

describe('the command line (@detkit/cli), installed alone with npm', () => {
  it('npx detkit train --max-steps 2, then detect on the committed sample image, eval and convert: outputs on disk', async () => {
    const installed = readdirSync(path.join(cli, 'node_modules', '@detkit')).sort();
    expect(installed).toContain('cli');
    expect(installed).not.toContain('trainer');
    const npx = (...args: string[]) => run('npx', ['--no-install', 'detkit', ...args], cli);
    const out = path.join(cli, 'run');
    await npx('train', '--max-steps', '2', '--val-limit', '8', '--out', out, '--no-progress');
    for (const f of ['run.json', 'metrics.jsonl', 'val-results.json', 'loss.png', path.join('model', 'model.json'), path.join('model', 'weights.bin'), path.join('model', 'manifest.json')]) {
      expect(existsSync(path.join(out, f)), `train wrote ${f}`).toBe(true);
    }
    const checkpoints = readdirSync(path.join(out, 'checkpoints'));
    expect(checkpoints).toEqual(['epoch-0001']);
    const epoch = JSON.parse(readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').pop()!) as { type: string; step: number; map: number };
    expect(epoch).toMatchObject({ type: 'epoch', step: 2 });

    const found = path.join(cli, 'found');
    await npx('detect', '-m', out, '-o', found, SAMPLE_PNG);
    const detections = JSON.parse(readFileSync(path.join(found, 'detections.json'), 'utf8')) as { file: string; width: number; height: number; drawing: string; detections: { box: number[]; class: string }[] }[];
    expect(detections).toHaveLength(1);
    expect(detections[0]).toMatchObject({ file: SAMPLE_PNG, width: 128, height: 128, drawing: 'sample.png' });
    for (const d of detections[0]!.detections) expect(['rectangle', 'ellipse', 'triangle', 'cross']).toContain(d.class);
    // The drawing is a PNG (IHDR width and height at bytes 16 and 20) of the 128 x 128 image scaled up by the
    // trainer's drawing rule, round(384 / 128) = 3: 384 x 384.
    const png = readFileSync(path.join(found, 'sample.png'));
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([384, 384]);

    // eval of the model on the run's 8 validation images gives the trainer's own evaluation back.
    const report = JSON.parse(await npx('eval', out, '--data', 'synthetic', '--limit', '8', '--json')) as { images: number; map: number };
    expect(report.images).toBe(8);
    expect(report.map).toBeCloseTo(epoch.map, 6);
    const exported = path.join(cli, 'exported');
    await npx('convert', path.join(out, 'checkpoints', 'epoch-0001'), '-o', exported);
    expect(readdirSync(exported).sort()).toEqual(['manifest.json', 'model.json', 'weights.bin']);
  });

  it('errors: one line on stderr, no stack, exit status 2 for a bad flag', async () => {
    const e = (await exec('npx', ['--no-install', 'detkit', 'train', '--bogus'], { cwd: cli }).then(
      () => null,
      (x: unknown) => x,
    )) as { code: number; stderr: string } | null;
    expect(e, 'detkit train --bogus must fail').not.toBeNull();
    expect(e!.code).toBe(2);
    // (npm itself may add warnings of its own on stderr: only detkit's line is checked.)
    expect(e!.stderr).toMatch(/^error: detkit train: 'arguments' unknown option '--bogus' \(see detkit train --help\)$/m);
    expect(e!.stderr.match(/unknown option/g)).toHaveLength(1);
    expect(e!.stderr).not.toMatch(/^\s+at /m);
  });
});
