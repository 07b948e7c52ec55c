/**
 * Fine-tuning torchvision's SSDlite320 (and, below, its Faster R-CNN MobileNet 320) from a safetensors file, as a user runs it: the committed torchvision
 * fixture (`ssdlite320_mobilenet_v3_large(num_classes=4, width_mult=0.5)` with seeded weights, written by
 * @detkit/torchvision's pth_to_safetensors.py) copied to a temporary folder, `detkit-train --model
 * ssdlite320-mobilenet-v3-large --weights <file>` (the built bin, a child process) for two steps on the
 * built-in data (4 classes: the class layers are re-initialised), then `detkit-detect` on the saved run.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const bin = (name: string) => path.join(here, '..', 'dist', `${name}.js`);
const FIXTURES = path.join(here, '..', '..', '..', 'packages', 'torchvision', 'fixtures');
const FIXTURE = path.join(FIXTURES, 'ssdlite320-w050-c4.weights.safetensors');
const FASTER_FIXTURE = path.join(FIXTURES, 'fasterrcnn320-w050-c4.weights.safetensors');

describe('detkit-train --model <torchvision model> --weights', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'detkit-ssdlite-'));
    await copyFile(FIXTURE, path.join(dir, 'ssdlite.safetensors'));
    // The fixture is the width-0.5 model: its width is an option of the model, given in a config file.
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ modelOptions: { widthMult: 0.5 } }));
  });

  it('fine-tunes from the file for two steps, saves a model detkit-detect runs', async () => {
    const out = path.join(dir, 'run');
    const args = ['--model', 'ssdlite320-mobilenet-v3-large', '--weights', path.join(dir, 'ssdlite.safetensors'), '-c', path.join(dir, 'config.json')];
    const { stdout } = await run('node', [bin('train'), ...args, '--max-steps', '2', '-b', '2', '--train-limit', '4', '--val-limit', '2', '--draw', '1', '--no-progress', '-o', out]);
    // The file's 476 state-dict entries: 464 loaded, the 12 of the class layers (6 levels, weight and bias)
    // re-initialised, as the data has 4 + 1 classes and the file 3 + 1.
    expect(stdout).toMatch(/weights: 464 entries from .*ssdlite\.safetensors/);
    expect(stdout).toMatch(/re-initialised head\.classification_head\.module_list\.0\.1\.weight/);
    expect(stdout).not.toMatch(/re-initialised .*regression_head/);
    expect(stdout).toMatch(/ssdlite320-mobilenet-v3-large \(0\.97M parameters\).*320 px, batch 2/);
    const steps = (await readFile(path.join(out, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; loss?: number })
      .filter((r) => r.type === 'step');
    expect(steps).toHaveLength(2);
    expect(steps.every((s) => Number.isFinite(s.loss))).toBe(true);
    const topology = JSON.parse(await readFile(path.join(out, 'model', 'model.json'), 'utf8')) as { modelTopology: { config: { kind: string; numClasses: number; widthMult: number } } };
    expect(topology.modelTopology.config).toMatchObject({ kind: 'ssdlite320-mobilenet-v3-large', numClasses: 4, widthMult: 0.5 });

    const drawn = (await readdir(path.join(out, 'detections'), { recursive: true })).find((f) => f.endsWith('.png'));
    expect(drawn).toBeDefined();
    const detOut = path.join(dir, 'detect');
    await run('node', [bin('detect'), '-m', out, '-o', detOut, path.join(out, 'detections', drawn!)]);
    const detections = JSON.parse(await readFile(path.join(detOut, 'detections.json'), 'utf8')) as unknown[];
    expect(detections.length).toBe(1);
  }, 300_000);

  it('fine-tunes torchvision’s Faster R-CNN MobileNet 320 from a file for two steps, saves a model detkit-detect runs', async () => {
    // The committed reduced fasterrcnn_mobilenet_v3_large_320_fpn (width 0.5, FPN 64, box head 64, 4 classes):
    // its sizes are options of the model, given in a config file.
    await copyFile(FASTER_FIXTURE, path.join(dir, 'fr320.safetensors'));
    await writeFile(path.join(dir, 'fr320.json'), JSON.stringify({ modelOptions: { widthMult: 0.5, fpnOutChannels: 64, representationSize: 64 } }));
    const out = path.join(dir, 'fr320-run');
    const args = ['--model', 'fasterrcnn-mobilenet-v3-large-320-fpn', '--weights', path.join(dir, 'fr320.safetensors'), '-c', path.join(dir, 'fr320.json')];
    const { stdout } = await run('node', [bin('train'), ...args, '--max-steps', '2', '-b', '2', '--train-limit', '4', '--val-limit', '2', '--draw', '1', '--no-progress', '-o', out]);
    // The file's 330 state-dict entries: 326 loaded, the predictor's 4 (cls_score and bbox_pred, weight and
    // bias) re-initialised, as the data has 4 + 1 classes and the file 3 + 1.
    expect(stdout).toMatch(/weights: 326 entries from .*fr320\.safetensors/);
    expect(stdout).toMatch(/re-initialised roi_heads\.box_predictor\.cls_score\.weight/);
    expect(stdout).not.toMatch(/re-initialised .*rpn\./);
    expect(stdout).toMatch(/fasterrcnn-mobilenet-v3-large-320-fpn \([\d.]+M parameters\).*320 px, batch 2/);
    const steps = (await readFile(path.join(out, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; loss?: number; parts?: Record<string, number> })
      .filter((r) => r.type === 'step');
    expect(steps).toHaveLength(2);
    expect(steps.every((s) => Number.isFinite(s.loss))).toBe(true);
    const topology = JSON.parse(await readFile(path.join(out, 'model', 'model.json'), 'utf8')) as { modelTopology: { config: { kind: string; numClasses: number; modelOptions: Record<string, unknown> } } };
    expect(topology.modelTopology.config).toMatchObject({ kind: 'fasterrcnn-mobilenet-v3-large-320-fpn', numClasses: 4, modelOptions: { widthMult: 0.5, fpnOutChannels: 64 } });

    const drawn = (await readdir(path.join(out, 'detections'), { recursive: true })).find((f) => f.endsWith('.png'));
    expect(drawn).toBeDefined();
    const detOut = path.join(dir, 'fr320-detect');
    await run('node', [bin('detect'), '-m', out, '-o', detOut, path.join(out, 'detections', drawn!)]);
    const detections = JSON.parse(await readFile(path.join(detOut, 'detections.json'), 'utf8')) as unknown[];
    expect(detections.length).toBe(1);
  }, 300_000);

  it('refuses --weights for a model that is not torchvision’s, naming the flag', async () => {
    const failed = await run('node', [bin('train'), '--weights', path.join(dir, 'ssdlite.safetensors'), '--max-steps', '1', '-o', path.join(dir, 'bad')]).catch((e: { code: number; stderr: string }) => e);
    expect((failed as { code: number }).code).not.toBe(0);
    expect((failed as { stderr: string }).stderr).toMatch(/weights.*ssdlite320-mobilenet-v3-large/);
  }, 120_000);
});
