import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from '@detkit/core';
import { DataError, emptySkipReport, permutation, syntheticSource, type DetectionSample, type OnInvalid, type SampleSource, type SkipReport } from '@detkit/data';
import { readCoco, readVoc } from '@detkit/data/node';

/** Where a run's data comes from: the fields of {@link TrainConfig} that {@link openData} reads. */
export interface DataSpec {
  /** `'synthetic'`, `'synthetic:hard'`, a COCO folder, a VOC devkit folder, or `''` with explicit annotation files. */
  data: string;
  /** COCO instances file of the training split (with `trainImages`): overrides the folder's layout. */
  trainAnnotations?: string;
  /** Folder the training annotations' `file_name`s are relative to. Default: found beside the file. */
  trainImages?: string;
  valAnnotations?: string;
  valImages?: string;
  /** Class names (VOC: the classes to read, in label order; default the sorted names found in the training split). */
  classes?: string[];
  /** Fraction of the training images held out for validation when the data has no validation split (seeded). */
  valSplit?: number;
  /** Seed of the validation split. */
  seed?: number;
  /** A bad record or missing image: stop with its file and record (`'throw'`), or leave it out and report it (`'skip'`). */
  onInvalid?: OnInvalid;
  trainLimit?: number;
  valLimit?: number;
}

/** The training and validation samples of a run, and the class names. */
export interface RunData {
  train: SampleSource;
  val: SampleSource;
  classes: readonly string[];
  /** COCO category id of each label (label i is category `categoryIds[i]`), or null when the data has no ids (VOC, synthetic). */
  categoryIds: readonly number[] | null;
  /** How the data was found, for the log (one line per split). */
  description: string;
  /** Records and images left out under `onInvalid: 'skip'`, both splits together. */
  skipped: SkipReport;
  /** Whether the samples' images are files to read (real data) or made in memory (the synthetic set). */
  fromFiles: boolean;
}

/** The default fraction held out for validation when a folder has no validation split. */
export const DEFAULT_VAL_SPLIT = 0.1;

function limited(source: SampleSource, limit: number | undefined): SampleSource {
  if (limit === undefined || limit <= 0 || limit >= source.length) return source;
  // Keeps the source's `spec` (the synthetic set's recipe), so a worker pool renders its samples itself.
  return { ...source, length: limit, get: (i) => source.get(i) };
}

function fromArray(samples: readonly DetectionSample[], classes: readonly string[]): SampleSource {
  return { length: samples.length, classes, get: (i) => samples[i] as DetectionSample };
}

function fail(argument: string, problem: string): never {
  throw new InvalidArgumentError('detkit-train', argument, problem);
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** One split of a COCO data set on disk. */
export interface CocoSplitFiles {
  annotations: string;
  /** Folder the `file_name`s are relative to; null: find it from the file (see {@link findImageRoot}). */
  images: string | null;
}

/** The COCO files of a folder, as {@link findCocoLayout} finds them. */
export interface CocoLayout {
  train: CocoSplitFiles;
  val: CocoSplitFiles | null;
  /** The layout's name, for the log. */
  layout: string;
}

const TRAIN_NAMES = ['train'];
const VAL_NAMES = ['val', 'valid', 'validation'];

/**
 * Finds the COCO annotation files and image folders of `root`, in the layouts data sets are distributed in:
 * - `annotations/instances_{train,val}.json` with images in `{train,val}/` (or `images/{train,val}/`);
 * - `annotations/instances_{train,val}2017.json` (any year) with images in `{train,val}2017/` (or `images/...`),
 *   as COCO 2017 is distributed;
 * - `{train,valid}/_annotations.coco.json` with the images beside the file (the common export of labelling tools);
 * - a single `annotations/*.json` (or `annotations.json` / `instances.json` at the top) with no validation file:
 *   `val` is null and the run holds out a split.
 * Returns null when none matches.
 */
export function findCocoLayout(root: string): CocoLayout | null {
  const ann = path.join(root, 'annotations');
  if (isDir(ann)) {
    const files = readdirSync(ann).filter((f) => f.endsWith('.json'));
    const split = (names: readonly string[]) => {
      for (const f of files.sort()) {
        const m = /^instances_([a-z]+)(\d*)\.json$/i.exec(f);
        if (m && names.includes((m[1] as string).toLowerCase())) return { file: path.join(ann, f), folder: `${m[1]}${m[2]}` };
      }
      return null;
    };
    const train = split(TRAIN_NAMES);
    if (train !== null) {
      const val = split(VAL_NAMES);
      const images = (folder: string) => [path.join(root, folder), path.join(root, 'images', folder)].find(isDir) ?? null;
      return {
        train: { annotations: train.file, images: images(train.folder) },
        val: val === null ? null : { annotations: val.file, images: images(val.folder) },
        layout: `annotations/${path.basename(train.file)}${val === null ? '' : ` + ${path.basename(val.file)}`}`,
      };
    }
    const instances = files.filter((f) => f.startsWith('instances'));
    const single = instances.length === 1 ? instances : files.length === 1 ? files : [];
    if (single.length === 1) return { train: { annotations: path.join(ann, single[0] as string), images: null }, val: null, layout: `annotations/${single[0] as string}` };
  }
  const exported = (names: readonly string[]) => names.map((n) => path.join(root, n, '_annotations.coco.json')).find(isFile) ?? null;
  const trainExport = exported(TRAIN_NAMES);
  if (trainExport !== null) {
    const valExport = exported(VAL_NAMES);
    return {
      train: { annotations: trainExport, images: path.dirname(trainExport) },
      val: valExport === null ? null : { annotations: valExport, images: path.dirname(valExport) },
      layout: 'train/_annotations.coco.json',
    };
  }
  for (const name of ['annotations.json', 'instances.json']) {
    if (isFile(path.join(root, name))) return { train: { annotations: path.join(root, name), images: null }, val: null, layout: name };
  }
  return null;
}

/**
 * The folder an annotation file's `file_name`s are relative to: the first of the file's folder, its parent,
 * the parent's `images/` and the split folder guesses in which the first image exists.
 */
function findImageRoot(annotationFile: string, firstFileName: string | undefined): string {
  const dir = path.dirname(annotationFile);
  const parent = path.dirname(dir);
  const candidates = [dir, parent, path.join(parent, 'images'), path.join(dir, 'images')];
  if (firstFileName === undefined) return parent;
  return candidates.find((c) => existsSync(path.join(c, firstFileName))) ?? parent;
}

async function firstFileName(file: string): Promise<string | undefined> {
  const { readFile } = await import('node:fs/promises');
  try {
    const doc = JSON.parse(await readFile(file, 'utf8')) as { images?: { file_name?: unknown }[] };
    const name = doc.images?.[0]?.file_name;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined; // readCoco reports the bad file with its own error
  }
}

interface SplitData {
  samples: DetectionSample[];
  classes: readonly string[];
  categoryIds: readonly number[] | null;
  skipped: SkipReport;
  where: string;
}

/**
 * The folder a COCO split's `file_name`s are relative to: the layout's image folder, else {@link findImageRoot}'s
 * (the file's folder, its parent, or an `images/` folder beside either, whichever holds the first image).
 */
export async function cocoImageRoot(split: CocoSplitFiles): Promise<string> {
  return split.images ?? findImageRoot(split.annotations, await firstFileName(split.annotations));
}

async function readCocoSplit(split: CocoSplitFiles, onInvalid: OnInvalid): Promise<SplitData> {
  const imageRoot = await cocoImageRoot(split);
  const ds = await readCoco(split.annotations, { imageRoot, onInvalid });
  return { samples: [...ds.samples], classes: ds.classes, categoryIds: ds.categoryIds, skipped: ds.skipped, where: `${split.annotations} (images in ${imageRoot})` };
}

/**
 * Gives the validation samples the training split's labels: COCO files number their categories each on its
 * own (sorted ids), so the same category can have another label in the validation file. Matched by category
 * id (COCO) or name; a validation class the training split does not have is an error naming the file.
 */
function alignLabels(val: SplitData, train: SplitData, file: string): DetectionSample[] {
  const map = new Int32Array(val.classes.length);
  for (let c = 0; c < val.classes.length; c++) {
    const id = val.categoryIds?.[c];
    const name = val.classes[c] as string;
    let t = id !== undefined && train.categoryIds !== null ? train.categoryIds.indexOf(id) : train.classes.indexOf(name);
    if (t >= 0 && train.classes[t] !== name) {
      throw new DataError({ file, record: `category ${id ?? name}`, kind: 'malformed-record', problem: `is named '${name}' here but '${train.classes[t] as string}' in the training split` });
    }
    if (t < 0) t = -1;
    map[c] = t;
  }
  const identity = map.every((t, c) => t === c);
  if (identity) return val.samples;
  return val.samples.map((s) => {
    const labels = new Int32Array(s.labels.length);
    for (let i = 0; i < labels.length; i++) {
      const t = map[s.labels[i] as number] as number;
      if (t < 0) {
        throw new DataError({ file, record: `image id ${s.id}`, kind: 'malformed-record', problem: `has class '${val.classes[s.labels[i] as number] as string}', which the training split does not have (classes: ${train.classes.join(', ')})` });
      }
      labels[i] = t;
    }
    return { ...s, labels };
  });
}

/** Splits samples into (train, val) by a permutation seeded by `seed`: `round(fraction * n)` (at least 1) go to val. */
export function holdOut(samples: readonly DetectionSample[], fraction: number, seed: number): { train: DetectionSample[]; val: DetectionSample[] } {
  if (!(fraction > 0 && fraction < 1)) fail('valSplit', `must be a fraction in (0, 1), got ${fraction}`);
  if (samples.length < 2) fail('valSplit', `needs at least 2 images to split, the data has ${samples.length}`);
  const order = permutation(samples.length, seed ^ 0x5eed);
  const nVal = Math.min(samples.length - 1, Math.max(1, Math.round(fraction * samples.length)));
  const valIdx = Array.from(order.subarray(0, nVal)).sort((a, b) => a - b);
  const isVal = new Uint8Array(samples.length);
  for (const i of valIdx) isVal[i] = 1;
  return { train: samples.filter((_, i) => isVal[i] === 0), val: valIdx.map((i) => samples[i] as DetectionSample) };
}

function merged(...reports: SkipReport[]): SkipReport {
  const out = emptySkipReport();
  for (const r of reports) {
    out.count += r.count;
    for (const [k, v] of Object.entries(r.byKind)) out.byKind[k as keyof typeof out.byKind] = (out.byKind[k as keyof typeof out.byKind] ?? 0) + (v ?? 0);
    out.examples.push(...r.examples.slice(0, Math.max(0, 10 - out.examples.length)));
  }
  return out;
}

function finish(spec: DataSpec, train: SplitData, val: SplitData | null, description: string): RunData {
  let trainSamples = train.samples;
  let valSamples: DetectionSample[];
  let desc = description;
  if (val === null) {
    const fraction = spec.valSplit ?? DEFAULT_VAL_SPLIT;
    const split = holdOut(trainSamples, fraction, spec.seed ?? 0);
    trainSamples = split.train;
    valSamples = split.val;
    desc += `; no validation split: ${valSamples.length} of ${train.samples.length} images held out (--val-split ${fraction}, seed ${spec.seed ?? 0})`;
  } else {
    if (spec.valSplit !== undefined) fail('valSplit', 'is for data without a validation split, but this data has one');
    valSamples = alignLabels(val, train, val.where);
  }
  if (trainSamples.length === 0) fail('data', `has no training images (${train.where})`);
  if (valSamples.length === 0) fail('data', `has no validation images (${val?.where ?? train.where})`);
  return {
    train: limited(fromArray(trainSamples, train.classes), spec.trainLimit),
    val: limited(fromArray(valSamples, train.classes), spec.valLimit),
    classes: train.classes,
    categoryIds: train.categoryIds,
    description: desc,
    skipped: merged(train.skipped, val?.skipped ?? emptySkipReport()),
    fromFiles: true,
  };
}

async function readVocSplit(root: string, split: string, classes: readonly string[] | undefined, onInvalid: OnInvalid): Promise<SplitData> {
  const ds = await readVoc(root, { split, onInvalid, ...(classes !== undefined ? { classes } : {}) });
  return { samples: [...ds.samples], classes: ds.classes, categoryIds: null, skipped: ds.skipped, where: path.join(root, 'ImageSets', 'Main', `${split}.txt`) };
}

/**
 * The VOC year folders (those holding `ImageSets/Main`) of `data`: `data` itself, or each such folder among
 * its subfolders or those of its `VOCdevkit/` (torchvision's `VOCDetection` root and the devkit as unpacked:
 * `VOCdevkit/VOC2012`). Empty when there is none; several (VOC2007 and VOC2012) are for the caller to refuse,
 * since which one to use is the user's choice.
 */
export function findVocRoots(data: string): string[] {
  if (isDir(path.join(data, 'ImageSets', 'Main'))) return [data];
  const parents = [data, path.join(data, 'VOCdevkit')].filter(isDir);
  return parents.flatMap((parent) =>
    readdirSync(parent, { withFileTypes: true })
      .filter((e) => e.isDirectory() && isDir(path.join(parent, e.name, 'ImageSets', 'Main')))
      .map((e) => path.join(parent, e.name)),
  );
}

/**
 * Opens the data of a run: the built-in synthetic set (rendered on demand, seed 0), a COCO folder in any of
 * {@link findCocoLayout}'s layouts, explicit COCO annotation files and image folders, or a Pascal VOC devkit
 * folder (`ImageSets/Main/{train,val}.txt`, or `trainval.txt` alone with a held-out split; or the folder above it,
 * see {@link findVocRoots}) with the classes
 * found in its annotations or given. Data without a validation split holds out `valSplit` of the training
 * images (default {@link DEFAULT_VAL_SPLIT}, seeded).
 */
export async function openData(spec: DataSpec): Promise<RunData> {
  const onInvalid = spec.onInvalid ?? 'throw';
  const data = spec.data;
  if (spec.trainAnnotations !== undefined) {
    if (!isFile(spec.trainAnnotations)) fail('trainAnnotations', `${spec.trainAnnotations} is not a file`);
    if (spec.valAnnotations !== undefined && !isFile(spec.valAnnotations)) fail('valAnnotations', `${spec.valAnnotations} is not a file`);
    for (const [k, v] of [['trainImages', spec.trainImages], ['valImages', spec.valImages]] as const) if (v !== undefined && !isDir(v)) fail(k, `${v} is not a folder`);
    const train = await readCocoSplit({ annotations: spec.trainAnnotations, images: spec.trainImages ?? null }, onInvalid);
    const val = spec.valAnnotations === undefined ? null : await readCocoSplit({ annotations: spec.valAnnotations, images: spec.valImages ?? null }, onInvalid);
    return finish(spec, train, val, `COCO files: train ${train.where}${val ? `, val ${val.where}` : ''}`);
  }
  if (spec.valAnnotations !== undefined) fail('valAnnotations', 'needs --train-annotations too');
  if (data === 'synthetic' || data.startsWith('synthetic:')) {
    const preset = data === 'synthetic' ? 'quick' : data.slice('synthetic:'.length);
    if (preset !== 'quick' && preset !== 'hard') fail('data', `synthetic preset must be 'quick' or 'hard', got '${preset}'`);
    const train = syntheticSource({ preset, split: 'train' });
    const val = syntheticSource({ preset, split: 'val' });
    return { train: limited(train, spec.trainLimit), val: limited(val, spec.valLimit), classes: train.classes, categoryIds: null, description: `built-in synthetic '${preset}' set`, skipped: emptySkipReport(), fromFiles: false };
  }
  if (!isDir(data)) fail('data', `'${data}' is neither 'synthetic' nor a folder`);
  const roots = findVocRoots(data);
  if (roots.length > 1) fail('data', `'${data}' holds several VOC folders (${roots.join(', ')}): pass the one to train on`);
  const root = roots[0];
  if (root !== undefined) {
    const main = path.join(root, 'ImageSets', 'Main');
    const has = (s: string) => isFile(path.join(main, `${s}.txt`));
    const trainSplit = has('train') ? 'train' : has('trainval') ? 'trainval' : fail('data', `VOC folder ${root} has neither ImageSets/Main/train.txt nor trainval.txt`);
    const train = await readVocSplit(root, trainSplit, spec.classes, onInvalid);
    const valName = trainSplit === 'train' ? VAL_NAMES.find(has) : undefined;
    const val = valName === undefined ? null : await readVocSplit(root, valName, train.classes, onInvalid);
    return finish(spec, train, val, `VOC devkit ${root} (${trainSplit}${val ? ` / ${valName as string}` : ''}; classes ${train.classes.join(', ')})`);
  }
  const layout = findCocoLayout(data);
  if (layout === null) {
    fail(
      'data',
      `'${data}' is not a data folder detkit knows: expected a COCO folder (annotations/instances_{train,val}.json or instances_{train,val}2017.json ` +
        `with images in {train,val}/ or {train,val}2017/, or train/_annotations.coco.json), a VOC devkit folder (ImageSets/Main, ` +
        `or the folder above one such as VOCdevkit/VOC2012), ` +
        `or pass --train-annotations FILE --train-images DIR [--val-annotations FILE --val-images DIR]`,
    );
  }
  const train = await readCocoSplit(layout.train, onInvalid);
  const val = layout.val === null ? null : await readCocoSplit(layout.val, onInvalid);
  return finish(spec, train, val, `COCO folder ${data} (${layout.layout})`);
}
