/**
 * The four commands end to end on a 2-step run of the built-in synthetic set: `main()` in this process for
 * the numbers (eval of the model, of the run's val-results.json and of the trainer's own record agree),
 * and the built executable (dist/detkit.js, as npx runs it) for help, exit statuses and errors printed once.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { InvalidArgumentError, tf } from '@detkit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { UnsupportedConversionError } from './convert';
import type { EvalReport } from './eval';
import { main } from './main';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.join(HERE, '..', 'dist', 'detkit.js');
const SAMPLE = path.join(HERE, '..', '..', '..', 'tooling', 'consumer', 'fixtures', 'sample.png');
const exec = promisify(execFile);

let dir: string;
let run: string;

/** Runs `detkit` in this process from `dir`; returns what it wrote to stdout. */
async function detkit(...argv: string[]): Promise<string> {
  let out = '';
  await main(argv, { cwd: dir, io: { writeOut: (t) => (out += t), writeErr: (t) => (out += t) } });
  return out;
}

/** Runs the built executable; returns its exit status and output. */
async function bin(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...argv], { cwd: dir });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'detkit-cli-'));
  run = path.join(dir, 'run');
  await detkit('train', '--max-steps', '2', '--val-limit', '8', '--out', 'run', '--no-progress', '--draw', '0');
}, 120_000);

describe('detkit train | detect | eval | convert', () => {
  it('train wrote a run folder (relative --out resolved against the given folder)', async () => {
    for (const f of ['run.json', 'metrics.jsonl', 'val-results.json', 'val-annotations.json', path.join('model', 'model.json')]) expect(existsSync(path.join(run, f)), f).toBe(true);
  });

  it('detect writes detections.json and a drawn PNG for the sample image', async () => {
    await copyFile(SAMPLE, path.join(dir, 'sample.png'));
    await detkit('detect', '-m', 'run', '-o', 'found', '--score', '0.05', 'sample.png');
    const found = JSON.parse(await readFile(path.join(dir, 'found', 'detections.json'), 'utf8')) as { file: string; drawing: string }[];
    expect(found).toHaveLength(1);
    expect(found[0]!.file).toBe(path.join(dir, 'sample.png'));
    expect(await readdir(path.join(dir, 'found'))).toEqual(['detections.json', 'sample.png']);
  });

  it("eval of the model on the run's 8 validation images, of its val-results.json, and the trainer's record agree", async () => {
    const last = JSON.parse((await readFile(path.join(run, 'metrics.jsonl'), 'utf8')).trim().split('\n').pop()!) as { map: number; coco: EvalReport['coco'] };
    const before = tf.memory().numTensors;
    const model = JSON.parse(await detkit('eval', 'run', '--data', 'synthetic', '--limit', '8', '--backend', 'cpu', '--json')) as EvalReport;
    expect(tf.memory().numTensors).toBe(before);
    const results = JSON.parse(await detkit('eval', 'run/val-results.json', '--data', 'run/val-annotations.json', '--json')) as EvalReport;
    expect(model).toMatchObject({ input: 'model', images: 8 });
    expect(results).toMatchObject({ input: 'coco-results', images: 8, detections: model.detections });
    // Same detections, scored by the same code: identical numbers (cpu here vs the run's wasm: within float rounding).
    for (const r of [model, results]) {
      expect(r.map).toBeCloseTo(last.map, 6);
      for (const [k, v] of Object.entries(last.coco)) expect(r.coco[k as keyof EvalReport['coco']], k).toBeCloseTo(v, 6);
    }
    const text = await detkit('eval', 'run/val-results.json', '--data', 'run/val-annotations.json');
    expect(text).toMatch(/\| AP \| AP50 \| AP75 \| APs \| APm \| APl \| AR100 \|/);
    expect(text).toMatch(/VOC mAP@0\.5 \(all-point\): \d\.\d{4}/);
    expect(text).toMatch(/\| class\s+\| ap50Voc \| apCoco \| ap50Coco \| objects \| detections \|/);
  });

  it('convert: checkpoint -> model folder with the same weights as the final model (one epoch: same step); safetensors is a typed error', async () => {
    const [checkpoint] = await readdir(path.join(run, 'checkpoints'));
    const line = await detkit('convert', path.join('run', 'checkpoints', checkpoint!), '-o', 'exported');
    expect(line).toMatch(/^wrote .*exported: ssd, 4 classes/);
    expect(await readdir(path.join(dir, 'exported'))).toEqual(['manifest.json', 'model.json', 'weights.bin']);
    expect(Buffer.compare(await readFile(path.join(dir, 'exported', 'weights.bin')), await readFile(path.join(run, 'model', 'weights.bin')))).toBe(0);
    await expect(detkit('convert', 'run', '-o', 'exported')).rejects.toThrow(/is not empty; pass --overwrite/);
    await detkit('convert', 'run', '-o', 'exported', '--overwrite');
    await writeFile(path.join(dir, 'weights.safetensors'), '');
    const e = await detkit('convert', 'weights.safetensors', '-o', 'tv').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnsupportedConversionError);
    expect(e).toMatchObject({ from: 'safetensors', supported: ['checkpoint', 'run', 'model'] });
    await expect(detkit('convert', 'run', '--epoch', '7', '-o', 'e7')).rejects.toThrow(/has no checkpoint of epoch 7/);
  });

  it('a command that is not one, or none, is an InvalidArgumentError naming the commands', async () => {
    await expect(detkit('frob')).rejects.toThrow(InvalidArgumentError);
    await expect(detkit()).rejects.toThrow(/'command' is missing: one of train, detect, eval, convert/);
  });
});

describe.skipIf(!existsSync(BIN))('the built executable (dist/detkit.js)', () => {
  it('--help lists the commands; train --help states defaults and examples under "detkit train"', async () => {
    const top = await bin('--help');
    expect(top.code).toBe(0);
    for (const c of ['train', 'detect', 'eval', 'convert']) expect(top.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    const train = await bin('train', '--help');
    expect(train.code).toBe(0);
    expect(train.stdout).toMatch(/^Usage: detkit train \[options\]/);
    expect(train.stdout.replace(/\s+/g, ' ')).toContain('(default: runs/latest)');
    expect(train.stdout.match(/^ {2}\$ detkit train/gm)?.length ?? 0).toBeGreaterThanOrEqual(2);
  });

  it('a reader that closes the pipe early (detkit train --help | head -1) ends the output quietly: status 0, no stack', async () => {
    const child = spawn(process.execPath, [BIN, 'train', '--help'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before the first write: that write fails with EPIPE
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('user errors: one line on stderr, no stack, exit status 2 (arguments) or 1 (damaged model)', async () => {
    const cases: [string[], number, RegExp][] = [
      [['train', '--bogus'], 2, /^error: detkit train: 'arguments' unknown option '--bogus' \(see detkit train --help\)\n$/],
      [['detect'], 2, /^error: detkit detect: 'arguments' missing required argument 'images'/],
      [['eval', 'nothing.json', '--data', 'synthetic'], 2, /^error: detkit eval: 'detections' .*nothing\.json does not exist\n$/],
      [['frob'], 2, /^error: detkit: 'command' 'frob' is not a command/],
    ];
    for (const [argv, code, stderr] of cases) {
      const r = await bin(...argv);
      expect(r.code, argv.join(' ')).toBe(code);
      expect(r.stderr, argv.join(' ')).toMatch(stderr);
      expect(r.stderr.split('\n').filter(Boolean), argv.join(' ')).toHaveLength(1);
    }
    // A damaged model: CheckpointError (exit status 1) naming the file.
    await writeFile(path.join(run, 'model', 'weights.bin'), 'garbage');
    const damaged = await bin('detect', '-m', 'run', '-o', 'x', 'sample.png');
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toMatch(/^error: checkpoint: .*weights\.bin: is 7 bytes, manifest\.json records \d+ \(truncated\)\n$/);
  });
});
