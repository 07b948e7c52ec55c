import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BACKEND_NAMES } from '@detkit/backends';
import { InvalidArgumentError } from '@detkit/core';
import { describe, expect, it } from 'vitest';
import { HelpShown, parseTrainArgs } from './cli';
import { defaultConfig, SSD_DATA_BATCH_SIZE, SSD_DATA_LR, SSD_SYNTHETIC_BATCH_SIZE, SSD_SYNTHETIC_LR } from './config';
import { parseDetectArgs } from './run-detect';

const quiet = { writeOut: () => {}, writeErr: () => {} };

describe('detkit-train arguments', () => {
  it('no arguments: SSD on the built-in synthetic set, wasm, the SSD defaults', async () => {
    const c = await parseTrainArgs([], quiet);
    expect(c).toEqual(defaultConfig('ssd'));
    expect(c).toMatchObject({ model: 'ssd', data: 'synthetic', backend: 'wasm', resume: false, progress: true });
  });

  it('flags set the fields; --model picks that model defaults', async () => {
    const c = await parseTrainArgs(
      ['--model', 'faster-rcnn', '-e', '3', '--batch-size', '4', '--lr', '0.01', '--optimizer', 'sgd', '--schedule', 'step', '--milestones', '2,3', '--backend', 'cpu', '--seed', '7', '-o', 'out/x', '--resume', '--no-progress', '--train-limit', '10', '--image-size', '96'],
      quiet,
    );
    expect(c).toMatchObject({ model: 'faster-rcnn', epochs: 3, batchSize: 4, lr: 0.01, optimizer: 'sgd', schedule: 'step', milestones: [2, 3], backend: 'cpu', seed: 7, out: 'out/x', resume: true, progress: false, trainLimit: 10, imageSize: 96 });
    expect(c.warmupSteps).toBe(defaultConfig('faster-rcnn').warmupSteps);
  });

  it('a config file sets fields and flags override it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'detkit-cli-'));
    const file = path.join(dir, 'run.json');
    await writeFile(file, JSON.stringify({ model: 'faster-rcnn', epochs: 9, lr: 0.005, modelOptions: { representationSize: 128 } }));
    const c = await parseTrainArgs(['--config', file, '--epochs', '2'], quiet);
    expect(c).toMatchObject({ model: 'faster-rcnn', epochs: 2, lr: 0.005, modelOptions: { representationSize: 128 }, batchSize: defaultConfig('faster-rcnn').batchSize });
  });

  it('bad input is an InvalidArgumentError naming the flag or field', async () => {
    await expect(parseTrainArgs(['--backend', 'tpu'], quiet)).rejects.toThrow(/tpu/);
    await expect(parseTrainArgs(['--epochs', 'many'], quiet)).rejects.toThrow(InvalidArgumentError);
    await expect(parseTrainArgs(['--epochs', '0'], quiet)).rejects.toThrow(/'epochs' must be >= 1.*got 0/);
    await expect(parseTrainArgs(['--image-size', '1000000000'], quiet)).rejects.toThrow(/'imageSize' must be <= 4096/);
    await expect(parseTrainArgs(['--val-split', '1.5'], quiet)).rejects.toThrow(/'valSplit' must be < 1/);
    await expect(parseTrainArgs(['--time', 'soon'], quiet)).rejects.toThrow(/not a duration/);
    await expect(parseTrainArgs(['--lr', '-1'], quiet)).rejects.toThrow(/'lr'/);
    await expect(parseTrainArgs(['--bogus'], quiet)).rejects.toThrow(/bogus/);
    await expect(parseTrainArgs(['extra'], quiet)).rejects.toThrow(/too many arguments/);
    await expect(parseTrainArgs(['--config', '/nonexistent/run.json'], quiet)).rejects.toThrow(/cannot read/);
    const dir = await mkdtemp(path.join(tmpdir(), 'detkit-cli-'));
    await writeFile(path.join(dir, 'bad.json'), JSON.stringify({ epochz: 3 }));
    await expect(parseTrainArgs(['--config', path.join(dir, 'bad.json')], quiet)).rejects.toThrow(/'epochz' is not a configuration field/);
  });

  it('--help prints the flags and runs nothing', async () => {
    let text = '';
    await expect(parseTrainArgs(['--help'], { writeOut: (t) => (text += t), writeErr: () => {} })).rejects.toThrow(HelpShown);
    expect(text).toMatch(/--resume/);
    expect(text).toMatch(/--backend/);
  });

  it('--help states every flag default (the values of defaultConfig) and shows examples under the given name', async () => {
    let text = '';
    await expect(parseTrainArgs(['--help'], { writeOut: (t) => (text += t), writeErr: () => {} }, { name: 'detkit train' })).rejects.toThrow(HelpShown);
    expect(text).toMatch(/^Usage: detkit train \[options\]/);
    // Each option's description (from its flags to the next option) names its default, --help aside.
    const options = text.slice(text.indexOf('Options:'), text.indexOf('Examples:')).split(/\n(?=\s+-)/).slice(1);
    expect(options.length).toBeGreaterThan(30);
    for (const o of options.filter((o) => !/--help/.test(o))) expect(o.replace(/\s+/g, ' '), o).toMatch(/\(default: [^)]+\)/);
    const ssd = defaultConfig('ssd'), frcnn = defaultConfig('faster-rcnn');
    const flat = text.replace(/\s+/g, ' ');
    expect(ssd.batchSize).toBe('auto');
    expect(flat).toContain(`(default: auto: SSD ${SSD_SYNTHETIC_LR} on the synthetic set, ${SSD_DATA_LR} on your data; ${frcnn.lr} Faster R-CNN)`);
    expect(flat).toContain(`(default: auto: SSD ${SSD_SYNTHETIC_BATCH_SIZE} on the synthetic set, ${SSD_DATA_BATCH_SIZE} on your data; ${frcnn.batchSize} Faster R-CNN)`);
    expect(flat).toContain(`(default: ${ssd.out})`);
    expect(text.slice(text.indexOf('Examples:')).match(/\$ detkit train/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
  });

  it('an argument error is thrown once, for the entry point to print: commander writes nothing itself', async () => {
    let err = '';
    const io = { writeOut: () => {}, writeErr: (t: string) => (err += t) };
    await expect(parseTrainArgs(['--bogus'], io, { name: 'detkit train' })).rejects.toThrow("detkit train: 'arguments' unknown option '--bogus' (see detkit train --help)");
    expect(() => parseDetectArgs([], io, 'detkit detect')).toThrow(/detkit detect: 'arguments' missing required argument 'images'/);
    expect(err).toBe('');
  });
});

describe('detkit-detect arguments', () => {
  it('takes images and options with defaults', () => {
    expect(parseDetectArgs(['a.png', 'b.jpg'], quiet)).toEqual({ images: ['a.png', 'b.jpg'], model: 'runs/latest', out: 'detections', score: 0.3, backend: 'wasm' });
    expect(parseDetectArgs(['-m', 'runs/x', '--score', '0.5', '-o', 'o', 'a.png'], quiet)).toMatchObject({ model: 'runs/x', score: 0.5, out: 'o' });
  });

  it('needs at least one image and a score in [0, 1]', () => {
    expect(() => parseDetectArgs([], quiet)).toThrow(InvalidArgumentError);
    expect(() => parseDetectArgs(['--score', '2', 'a.png'], quiet)).toThrow(/score/);
  });

  it('--backend takes every backend of @detkit/backends, webgl and webgpu included, and lists them when wrong', () => {
    for (const backend of BACKEND_NAMES) expect(parseDetectArgs(['--backend', backend, 'a.png'], quiet).backend).toBe(backend);
    expect(() => parseDetectArgs(['--backend', 'tpu', 'a.png'], quiet)).toThrow(/wasm, cpu, gpu, webgl, webgpu, auto/);
  });
});
