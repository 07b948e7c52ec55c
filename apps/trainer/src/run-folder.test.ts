import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '@detkit/core';
import { describe, expect, it } from 'vitest';
import { removeStaleTemporaries } from './checkpoint';
import { defaultConfig, type TrainConfig } from './config';
import { OutputFolderInUseError } from './errors';
import { configDifferences, openRunFolder, RESUMABLE_FIELDS, RUN_FILE } from './run-folder';

const quiet = () => {};
/** A pid no process has (Linux pids stay below 2^22). */
const DEAD_PID = 2 ** 22 + 7;

describe('configDifferences', () => {
  const saved = defaultConfig('ssd');

  it('names every field that differs, in field order, and skips the fields that may change on resume', () => {
    const now: TrainConfig = { ...saved, imageSize: 96, seed: 3, epochs: 9, backend: 'cpu', draw: 0, progress: false, out: 'elsewhere', resume: true };
    expect(configDifferences(saved, now)).toEqual([
      { field: 'imageSize', checkpoint: 'auto', now: 96 },
      { field: 'seed', checkpoint: 0, now: 3 },
    ]);
    expect(RESUMABLE_FIELDS).toEqual(expect.arrayContaining(['epochs', 'backend', 'draw', 'progress', 'out']));
  });

  it('compares nested values (model options) by value', () => {
    const a = { ...saved, modelOptions: { backbone: { channels: [8, 16] } } };
    expect(configDifferences(a, { ...a, modelOptions: { backbone: { channels: [8, 16] } } })).toEqual([]);
    expect(configDifferences(a, { ...a, modelOptions: { backbone: { channels: [8, 32] } } }).map((d) => d.field)).toEqual(['modelOptions']);
  });

  it('a field the checkpoint does not record counts as the default', () => {
    const old: Partial<TrainConfig> = { ...saved };
    delete old.weightDecay;
    expect(configDifferences(old, saved)).toEqual([]);
    expect(configDifferences(old, { ...saved, weightDecay: 0.01 })).toEqual([{ field: 'weightDecay', checkpoint: undefined, now: 0.01 }]);
  });
});

describe('openRunFolder', () => {
  it('a new run writes run.json with a new id; a second new run is refused; --resume keeps the id', async () => {
    const out = path.join(await mkdtemp(path.join(tmpdir(), 'detkit-folder-')), 'run');
    const first = await openRunFolder({ ...defaultConfig('ssd'), out }, quiet);
    const record = JSON.parse(await readFile(path.join(out, RUN_FILE), 'utf8'));
    expect(record).toMatchObject({ format: 'detkit-run', runId: first.runId });
    await expect(openRunFolder({ ...defaultConfig('ssd'), out }, quiet)).rejects.toThrow(OutputFolderInUseError);
    expect((await openRunFolder({ ...defaultConfig('ssd'), out, resume: true }, quiet)).runId).toBe(first.runId);
  });

  it('an output path that is a file, or inside one, is an InvalidArgumentError naming out', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'detkit-folder-'));
    const file = path.join(dir, 'file');
    await writeFile(file, 'x');
    await expect(openRunFolder({ ...defaultConfig('ssd'), out: file }, quiet)).rejects.toThrow(new InvalidArgumentError('detkit-train', 'out', `${file} is a file, not a folder`).message);
    await expect(openRunFolder({ ...defaultConfig('ssd'), out: path.join(file, 'sub') }, quiet)).rejects.toThrow(/'out' .* is inside a file, not a folder/);
  });
});

describe('removeStaleTemporaries', () => {
  it("removes a dead process's temporary folders, restores a folder it had moved aside, leaves a live process's alone", async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'detkit-stale-'));
    await mkdir(path.join(out, 'checkpoints', `.tmp-epoch-0003-${DEAD_PID}`), { recursive: true });
    await mkdir(path.join(out, `.tmp-old-model-${DEAD_PID}`));
    await writeFile(path.join(out, `.tmp-old-model-${DEAD_PID}`, 'model.json'), '{}');
    // pid 1 is always alive.
    await mkdir(path.join(out, '.tmp-model-1'));
    const done = await removeStaleTemporaries(out);
    expect(done.sort()).toEqual([`removed ${path.join(out, 'checkpoints', `.tmp-epoch-0003-${DEAD_PID}`)}`, `restored ${path.join(out, 'model')} from ${path.join(out, `.tmp-old-model-${DEAD_PID}`)}`].sort());
    expect(existsSync(path.join(out, 'model', 'model.json'))).toBe(true);
    expect(existsSync(path.join(out, '.tmp-model-1'))).toBe(true);
  });
});
