import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import { BACKEND_NAMES, useBackend, type BackendName } from '@detkit/backends';
import { InvalidArgumentError } from '@detkit/core';
import { boxesToOriginal, createLoader, type DetectionSample } from '@detkit/data';
import { loadImageFile } from '@detkit/data/node';
import { loadDetectorModel } from '@detkit/models';
import { registerTorchvisionDetectors } from '@detkit/torchvision';
import { latestCheckpoint, readModel } from './checkpoint';
import { parseCommand, type CliIo } from './cli';
import { drawDetections } from './draw';
import { OutputWriteError } from './errors';
import { ensureFolder, writeAtomic } from './run-folder';

/** Options of `detkit-detect`. */
export interface DetectConfig {
  /** A run folder (its `model/`, else its last checkpoint) or a folder holding model.json. */
  model: string;
  /** Image files (PNG or JPEG). */
  images: string[];
  /** Output folder: detections.json and one drawn PNG per image (see {@link drawingNames}). */
  out: string;
  /** Detections below this score are left out. */
  score: number;
  backend: BackendName;
}

/** One image's detections in detections.json. */
export interface ImageDetections {
  file: string;
  /** The drawn PNG's file name in the output folder. */
  drawing: string;
  width: number;
  height: number;
  /**
   * `label`: the model's 0-based class index; `class`: its name; `categoryId`: the training data set's
   * category id (COCO data: its own ids, e.g. 1, 3, 90; other data: label + 1, as `val-annotations.json`).
   */
  detections: { box: [number, number, number, number]; score: number; label: number; class: string; categoryId: number }[];
}

function number(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new CommanderArgumentError(`'${value}' is not a number.`);
  return n;
}

/**
 * Parses `detkit-detect`'s arguments; bad input throws `InvalidArgumentError`, `--help` `HelpShown`.
 * `name` is the program name in the usage line and argument errors (`detkit detect` in @detkit/cli).
 */
export function parseDetectArgs(argv: readonly string[], io?: CliIo, name = 'detkit-detect'): DetectConfig {
  const program = new Command(name)
    .description('Run a model saved by the trainer (or converted by detkit convert) on image files: boxes as JSON and drawn PNGs.')
    .argument('<images...>', 'PNG or JPEG files')
    .option('-m, --model <dir>', 'run folder or folder with model.json', 'runs/latest')
    .option('-o, --out <dir>', 'output folder', 'detections')
    .option('--score <t>', 'minimum score', number, 0.3)
    .addOption(new Option('--backend <name>', 'where the math runs').choices([...BACKEND_NAMES]).default('wasm'));
  parseCommand(program, argv, io);
  const o = program.opts<{ model: string; out: string; score: number; backend: BackendName }>();
  if (!(o.score >= 0 && o.score <= 1)) throw new InvalidArgumentError(name, 'score', `must be in [0, 1], got ${o.score}`);
  return { model: o.model, out: o.out, score: o.score, backend: o.backend, images: program.args };
}

/**
 * The file names of the drawn PNGs of `images`: `<name>.png` (the image's name without its extension);
 * where two images would share one, each of them keeps its extension (`a.png.png`, `a.jpg.png`), and where
 * that is still shared (the same name in two folders), `-2`, `-3`, ... are added in input order. No two
 * images get the same name, so none overwrites another's drawing.
 */
export function drawingNames(images: readonly string[]): string[] {
  const stem = (f: string) => path.basename(f).replace(/\.[^.]+$/, '');
  const count = (names: string[]) => names.reduce((m, n) => m.set(n, (m.get(n) ?? 0) + 1), new Map<string, number>());
  const stems = images.map(stem);
  const stemCount = count(stems);
  const names = images.map((f, i) => (stemCount.get(stems[i]!)! > 1 ? path.basename(f) : stems[i]!));
  const nameCount = count(names);
  const seen = new Map<string, number>();
  return names.map((n) => {
    if (nameCount.get(n)! === 1) return `${n}.png`;
    const k = (seen.get(n) ?? 0) + 1;
    seen.set(n, k);
    return k === 1 ? `${n}.png` : `${n}-${k}.png`;
  });
}

/** The folder holding model.json for `model` (see {@link DetectConfig.model}). */
export async function resolveModelDir(model: string): Promise<string> {
  if (existsSync(path.join(model, 'model.json'))) return model;
  if (existsSync(path.join(model, 'model', 'model.json'))) return path.join(model, 'model');
  const last = await latestCheckpoint(model);
  if (last !== null) return last;
  throw new InvalidArgumentError('detkit-detect', 'model', `no model.json in ${model}, ${path.join(model, 'model')} or its checkpoints`);
}

/**
 * Runs a saved detector on image files; writes one drawn PNG per image (named by {@link drawingNames}) and
 * then detections.json to `out`. The model's files are verified first (a damaged one is a CheckpointError
 * naming it). A detections.json already in `out` is removed before the first drawing is written, and the
 * new one is written atomically after the last, so a run that fails partway (an unreadable image) leaves
 * no detections.json rather than a previous run's beside new drawings.
 *
 * @throws InvalidArgumentError (exit status 2) when `out` is a file or cannot be created.
 */
export async function runDetect(config: DetectConfig, log: (line: string) => void = (l) => console.log(l)): Promise<ImageDetections[]> {
  await ensureFolder('detkit-detect', 'out', config.out);
  await useBackend(config.backend);
  const dir = await resolveModelDir(config.model);
  const { artifacts, classes, categoryIds } = await readModel(dir);
  log(`model ${dir} (${classes.length} classes)`);
  registerTorchvisionDetectors();
  const detector = await loadDetectorModel(artifacts);
  try {
    const [h, w] = detector.config.imageSize;
    const drawings = drawingNames(config.images);
    const jsonFile = path.join(config.out, 'detections.json');
    await rm(jsonFile, { force: true });
    const results: ImageDetections[] = [];
    for (const [index, file] of config.images.entries()) {
      const image = await loadImageFile(file);
      const sample: DetectionSample = {
        id: file,
        image,
        width: image.width,
        height: image.height,
        boxes: new Float32Array(0),
        labels: new Int32Array(0),
        iscrowd: new Uint8Array(0),
        difficult: new Uint8Array(0),
      };
      const loader = createLoader({ source: [sample], imageSize: [h, w], batchSize: 1, shuffle: false });
      for await (const batch of loader.epoch(0)) {
        try {
          const [found] = detector.detect(batch.images, { scoreThreshold: config.score });
          const boxes = boxesToOriginal(found!.boxes, batch.meta[0]!);
          const detections = Array.from(found!.scores, (score, i) => ({
            box: Array.from(boxes.subarray(4 * i, 4 * i + 4)) as [number, number, number, number],
            score,
            label: found!.labels[i]!,
            class: classes[found!.labels[i]!] ?? String(found!.labels[i]),
            categoryId: categoryIds?.[found!.labels[i]!] ?? found!.labels[i]! + 1,
          }));
          results.push({ file, drawing: drawings[index]!, width: image.width, height: image.height, detections });
          const drawn = drawDetections(image.data, image.width, image.height, { boxes, scores: found!.scores, labels: found!.labels }, { classes, minScore: config.score });
          const png = path.join(config.out, drawings[index]!);
          await writeFile(png, drawn.png()).catch((cause: unknown) => {
            throw new OutputWriteError(png, cause);
          });
          log(`${file}: ${detections.length} detection(s) -> ${png}`);
        } finally {
          batch.dispose();
        }
      }
    }
    await writeAtomic(jsonFile, JSON.stringify(results, null, 2));
    log(`wrote ${jsonFile}`);
    return results;
  } finally {
    detector.dispose();
  }
}
