/**
 * `detkit eval`: scores detections against a ground-truth split and prints the COCO summary (AP, AP50,
 * AP75, APs / APm / APl, AR100) and the per-class table (VOC AP@0.5, COCO AP and AP50): the tables the
 * trainer prints after each epoch, from the same code (`scoreDetections`, `evaluateDetector`).
 *
 * The detections are one of: `detkit detect`'s detections.json (its images only are scored), a COCO results
 * file such as the trainer's val-results.json (every image of the split is scored, as pycocotools does), or
 * a model (a run folder, a model folder, a checkpoint: it is run on every image of the split).
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { useBackend, type BackendName } from '@detkit/backends';
import { InvalidArgumentError } from '@detkit/core';
import { createLoader, type DetectionSample } from '@detkit/data';
import { loadImageFile } from '@detkit/data/node';
import type { Detections } from '@detkit/eval';
import { loadDetectorModel } from '@detkit/models';
import { registerTorchvisionDetectors } from '@detkit/torchvision';
import {
  unlessHelp,
  evaluateDetector,
  formatCocoTable,
  nonNegativeInteger,
  parseCommand,
  readModel,
  resolveModelDir,
  scoreDetections,
  type CocoResultRecord,
  type ImageDetections,
  type Scores,
} from '@detkit/trainer/commands';
import { readGroundTruth, type GroundTruthSplit } from './ground-truth';
import type { CommandRun } from './main';

/** Options of `detkit eval`. */
export interface EvalConfig {
  /** detections.json of `detkit detect`, a COCO results file, or a model (run folder, model folder, checkpoint, model.json). */
  input: string;
  /** Ground truth: a COCO instances file or folder, a VOC devkit folder, `'synthetic'` or `'synthetic:hard'`. */
  data: string;
  /** The ground truth's split (VOC image set, COCO folder split, synthetic split). */
  split: string;
  /** Folder of a COCO file's images (when a model is run on them). */
  images: string | null;
  /** Only the first n images of the split (0: all). */
  limit: number;
  /** Where a model's math runs. */
  backend: BackendName;
  /** Print the numbers as one JSON object instead of the tables. */
  json: boolean;
}

/** What `detkit eval` found, as `--json` prints it. */
export interface EvalReport {
  /** `'detections'` (detect's detections.json), `'coco-results'` or `'model'`. */
  input: 'detections' | 'coco-results' | 'model';
  /** Images scored. */
  images: number;
  /** Detections scored (those of classes the ground truth has). */
  detections: number;
  /** Detections left out because the ground truth has no class of that name / category id. */
  unknownClass: number;
  /** VOC mAP at IoU 0.5 (all-point). */
  map: number;
  coco: Scores['coco'];
  perClass: Scores['perClass'];
  cocoPerClass: Scores['cocoPerClass'];
}

const OP = 'detkit eval';

/** Parses `detkit eval`'s arguments; bad input throws `InvalidArgumentError`, `--help` throws `HelpShown`. */
export function parseEvalArgs(argv: readonly string[], options: Parameters<CommandRun>[1]): EvalConfig {
  const name = options.name;
  const program = new Command(name)
    .description('Score detections against a COCO or VOC split: the COCO summary (AP, AP50, AP75, APs/m/l, AR100) and per-class VOC AP@0.5 / COCO AP.')
    .argument('<detections>', "detkit detect's detections.json, a COCO results file (e.g. a run's val-results.json), or a model: a run folder, a model folder or a checkpoint")
    .requiredOption('-d, --data <where>', "ground truth: a COCO instances file, a COCO folder, a VOC devkit folder, 'synthetic' or 'synthetic:hard' (required)")
    .option('--split <name>', 'the split of a VOC or COCO folder or of the synthetic set (default: val)')
    .option('--images <dir>', "folder of a COCO file's images, to run a model on (default: the folder's layout, else the file's folder, its parent or an images/ folder beside either, as train finds them)")
    .option('--limit <n>', 'only the first n images of the split (default: 0: all)', nonNegativeInteger)
    .addOption(new Option('--backend <name>', 'where a model runs (default: wasm)').choices(['wasm', 'cpu', 'gpu', 'auto']))
    .option('--json', 'print the numbers as one JSON object instead of tables (default: off)')
    .addHelpText(
      'after',
      `
Examples:
  $ ${name} runs/latest --data synthetic --limit 100                 # run the model, print the tables
  $ ${name} runs/voc --data VOCdevkit/VOC2007 --split test
  $ ${name} runs/latest/val-results.json --data runs/latest/val-annotations.json
  $ ${name} found/detections.json --data coco/annotations/instances_val2017.json`,
    )
;
  parseCommand(program, argv, options.io);
  const o = program.opts<{ data: string; split?: string; images?: string; limit?: number; backend?: BackendName; json?: boolean }>();
  const resolve = (p: string) => path.resolve(options.cwd, p);
  const synthetic = o.data === 'synthetic' || o.data.startsWith('synthetic:');
  return {
    input: resolve(program.args[0] as string),
    data: synthetic ? o.data : resolve(o.data),
    split: o.split ?? 'val',
    images: o.images === undefined ? null : resolve(o.images),
    limit: o.limit ?? 0,
    backend: o.backend ?? 'wasm',
    json: o.json === true,
  };
}

type Input = { kind: 'model'; dir: string } | { kind: 'detections'; entries: ImageDetections[]; file: string } | { kind: 'coco-results'; records: CocoResultRecord[]; file: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** What the input is: a folder (a model), a model.json, detect's detections.json, or a COCO results file. */
async function readInput(input: string): Promise<Input> {
  if (!existsSync(input)) throw new InvalidArgumentError(OP, 'detections', `${input} does not exist`);
  if (statSync(input).isDirectory()) return { kind: 'model', dir: await resolveModelDir(input) };
  let json: unknown;
  try {
    json = JSON.parse(await readFile(input, 'utf8'));
  } catch (cause) {
    throw new InvalidArgumentError(OP, 'detections', `${input} is not a JSON file (${(cause as Error).message})`);
  }
  if (isObject(json) && isObject(json.modelTopology)) return { kind: 'model', dir: path.dirname(input) };
  const what = `${input} is neither detkit detect's detections.json ([{ file, detections: [{ box, score, class }] }]) nor a COCO results file ([{ image_id, category_id, bbox, score }])`;
  if (!Array.isArray(json)) throw new InvalidArgumentError(OP, 'detections', what);
  const first: unknown = json[0];
  if (json.length === 0 || (isObject(first) && 'image_id' in first)) {
    json.forEach((r: unknown, i) => {
      const ok = isObject(r) && (typeof r.image_id === 'number' || typeof r.image_id === 'string') && Number.isInteger(r.category_id) && typeof r.score === 'number' && Array.isArray(r.bbox) && r.bbox.length === 4 && r.bbox.every((v) => typeof v === 'number' && Number.isFinite(v));
      if (!ok) throw new InvalidArgumentError(OP, 'detections', `${input}: record ${i} is not { image_id, category_id, bbox: [x, y, w, h], score }`);
    });
    return { kind: 'coco-results', records: json as CocoResultRecord[], file: input };
  }
  if (isObject(first) && 'detections' in first) {
    json.forEach((r: unknown, i) => {
      const ok = isObject(r) && typeof r.file === 'string' && Array.isArray(r.detections) && r.detections.every((d: unknown) => isObject(d) && typeof d.class === 'string' && typeof d.score === 'number' && Array.isArray(d.box) && d.box.length === 4);
      if (!ok) throw new InvalidArgumentError(OP, 'detections', `${input}: entry ${i} is not { file, detections: [{ box, score, class }] }`);
    });
    return { kind: 'detections', entries: json as ImageDetections[], file: input };
  }
  throw new InvalidArgumentError(OP, 'detections', what);
}

interface Scored {
  groundTruth: DetectionSample[];
  detections: Detections[];
  unknownClass: number;
}

/** detect's detections.json: each entry's image found in the split by path, else by file name. */
function scoreDetectFile(entries: readonly ImageDetections[], file: string, gt: GroundTruthSplit): Scored {
  const byPath = new Map<string, DetectionSample>();
  const byName = new Map<string, DetectionSample | null>();
  for (const s of gt.samples) {
    if (typeof s.image !== 'string') continue;
    byPath.set(path.resolve(s.image), s);
    const base = path.basename(s.image);
    byName.set(base, byName.has(base) ? null : s);
  }
  const label = new Map(gt.classes.map((c, i) => [c, i]));
  const out: Scored = { groundTruth: [], detections: [], unknownClass: 0 };
  const seen = new Set<DetectionSample>();
  for (const e of entries) {
    const sample = byPath.get(path.resolve(path.dirname(file), e.file)) ?? byName.get(path.basename(e.file));
    if (sample === undefined || sample === null) {
      throw new InvalidArgumentError(OP, 'detections', `${file}: image ${e.file} is not in the ground truth${sample === null ? ` (its file name is not unique there)` : ''}`);
    }
    if (seen.has(sample)) throw new InvalidArgumentError(OP, 'detections', `${file}: image ${e.file} appears twice`);
    seen.add(sample);
    const kept = e.detections.filter((d) => label.has(d.class));
    out.unknownClass += e.detections.length - kept.length;
    out.groundTruth.push(sample);
    out.detections.push({ boxes: kept.flatMap((d) => d.box), scores: kept.map((d) => d.score), labels: kept.map((d) => label.get(d.class) as number) });
  }
  return out;
}

/** A COCO results file: every image of the split, each record by its image and category ids. */
function scoreCocoResults(records: readonly CocoResultRecord[], file: string, gt: GroundTruthSplit): Scored {
  const index = new Map<string, number>();
  gt.imageIds.forEach((id, i) => index.set(String(id), i));
  const label = new Map(gt.categoryIds.map((id, i) => [id, i]));
  const per = gt.samples.map(() => ({ boxes: [] as number[], scores: [] as number[], labels: [] as number[] }));
  let unknownClass = 0;
  for (const r of records) {
    const i = index.get(String(r.image_id));
    if (i === undefined) throw new InvalidArgumentError(OP, 'detections', `${file}: image_id ${JSON.stringify(r.image_id)} is not an image of the ground truth${gt.samples.length > 0 ? ` (ids such as ${JSON.stringify(gt.imageIds[0])})` : ''}`);
    const l = label.get(r.category_id);
    if (l === undefined) {
      unknownClass++;
      continue;
    }
    const [x, y, w, h] = r.bbox;
    const d = per[i]!;
    d.boxes.push(x, y, x + w, y + h);
    d.scores.push(r.score);
    d.labels.push(l);
  }
  return { groundTruth: [...gt.samples], detections: per, unknownClass };
}

function report(kind: EvalReport['input'], scored: { images: number; detections: number; unknownClass: number }, s: Scores): EvalReport {
  return { input: kind, images: scored.images, detections: scored.detections, unknownClass: scored.unknownClass, map: s.map, coco: s.coco, perClass: s.perClass, cocoPerClass: s.cocoPerClass };
}

/**
 * Runs `detkit eval` on a parsed configuration: reads the input and the ground truth, scores, and returns
 * the numbers with the tables' text.
 */
export async function runEval(config: EvalConfig): Promise<{ report: EvalReport; text: string }> {
  const input = await readInput(config.input);
  if (input.kind === 'model') {
    await useBackend(config.backend);
    const { artifacts, classes } = await readModel(input.dir);
    const gt = await readGroundTruth({ data: config.data, split: config.split, limit: config.limit, needImages: true, classes, ...(config.images ? { images: config.images } : {}) });
    if (classes.length !== gt.classes.length || classes.some((c, i) => c !== gt.classes[i])) {
      throw new InvalidArgumentError(OP, 'data', `has the classes ${gt.classes.join(', ')}, the model ${input.dir} ${classes.join(', ')}: score a model on data with its own classes`);
    }
    registerTorchvisionDetectors(); // torchvision's kinds load through @detkit/models' registry
    const detector = await loadDetectorModel(artifacts);
    try {
      const samples = new Map(gt.samples.map((s) => [s.id, s]));
      const loader = createLoader({ source: gt.samples, imageSize: detector.config.imageSize, batchSize: 8, shuffle: false, loadImage: loadImageFile });
      const evaluation = await evaluateDetector(detector, loader, samples, { classes, categoryIds: gt.categoryIds });
      const r = report('model', { images: gt.samples.length, detections: evaluation.results.length, unknownClass: 0 }, evaluation);
      return { report: r, text: tables(`${input.dir} on ${gt.description}`, r, evaluation) };
    } finally {
      detector.dispose();
    }
  }
  const gt = await readGroundTruth({ data: config.data, split: config.split, limit: config.limit, ...(config.images ? { images: config.images } : {}) });
  const scored = input.kind === 'detections' ? scoreDetectFile(input.entries, input.file, gt) : scoreCocoResults(input.records, input.file, gt);
  const scores = scoreDetections(scored.groundTruth, scored.detections, gt.classes);
  const count = scored.detections.reduce((n, d) => n + (d.scores as number[]).length, 0);
  const r = report(input.kind, { images: scored.groundTruth.length, detections: count, unknownClass: scored.unknownClass }, scores);
  return { report: r, text: tables(`${input.file} on ${gt.description}`, r, scores) };
}

function tables(title: string, r: EvalReport, s: Scores): string {
  const unknown = r.unknownClass > 0 ? `; ${r.unknownClass} detection(s) of classes the ground truth does not have left out` : '';
  return [
    `${title}`,
    `${r.images} images, ${r.detections} detections${unknown}`,
    '',
    'COCO (IoU 0.50:0.95, pycocotools):',
    formatCocoTable(s.coco),
    '',
    `VOC mAP@0.5 (all-point): ${s.map.toFixed(4)}`,
    '',
    s.table,
  ].join('\n');
}

/** The `eval` command of `detkit`. */
export const evaluate: CommandRun = async (argv, options) => {
  const config = await unlessHelp(() => parseEvalArgs(argv, options));
  if (config === null) return;
  const { report: r, text } = await runEval(config);
  options.io.writeOut(config.json ? `${JSON.stringify(r, null, 2)}\n` : text);
};
