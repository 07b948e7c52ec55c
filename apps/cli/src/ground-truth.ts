/**
 * The ground truth `detkit eval` scores against: one split of a COCO instances file or folder, a Pascal VOC
 * devkit folder, or the built-in synthetic set, read with @detkit/data's readers.
 */
import { statSync } from 'node:fs';
import { InvalidArgumentError } from '@detkit/core';
import { syntheticSource, toCoco, type DetectionSample } from '@detkit/data';
import { readCoco, readVoc } from '@detkit/data/node';
import { cocoImageRoot, findCocoLayout, findVocRoots } from '@detkit/trainer/commands';

/** One split's samples (labels 0-based into `classes`) and how results files name its images and classes. */
export interface GroundTruthSplit {
  samples: readonly DetectionSample[];
  classes: readonly string[];
  /** The COCO category id of each label: the file's own (COCO), else label + 1 (as the trainer's val-annotations.json). */
  categoryIds: readonly number[];
  /**
   * The COCO image id of each sample: its own (COCO), else the id of the trainer's val-annotations.json
   * (`toCoco`'s: integer sample ids, else index + 1), so the trainer's val-results.json scores here.
   */
  imageIds: readonly (number | string)[];
  /** What was read, for the output's first line. */
  description: string;
}

/** Where the ground truth is and which part of it. */
export interface GroundTruthSpec {
  /** A COCO instances file, a COCO folder, a VOC devkit folder, `'synthetic'` or `'synthetic:hard'`. */
  data: string;
  /** The split: VOC `ImageSets/Main/<split>.txt`, a COCO folder's `train` or `val` split, the synthetic set's. Default `'val'`. */
  split?: string;
  /**
   * Folder a COCO file's `file_name`s are relative to. Default: the layout's image folder; else, where a model
   * runs on the images, the trainer's guess (the file's folder, its parent, or an `images/` folder beside
   * either, whichever holds the first image); else the file's folder.
   */
  images?: string;
  /** Only the first `limit` images (0: all). */
  limit?: number;
  /** Check that the image files exist (when a model is run on them). */
  needImages?: boolean;
  /** Class names in label order (VOC: read the split with these, as the model was trained with). */
  classes?: readonly string[];
}

const OP = 'detkit eval';

function stat(p: string): 'file' | 'dir' | null {
  try {
    const s = statSync(p);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : null;
  } catch {
    return null;
  }
}

/** Reads the ground truth `spec` names; anything unreadable is an InvalidArgumentError naming `--data` or a DataError naming the file. */
export async function readGroundTruth(spec: GroundTruthSpec): Promise<GroundTruthSplit> {
  const split = spec.split ?? 'val';
  const limit = spec.limit ?? 0;
  const first = <T>(items: readonly T[]) => (limit > 0 ? items.slice(0, limit) : items);
  if (spec.data === 'synthetic' || spec.data.startsWith('synthetic:')) {
    const preset = spec.data === 'synthetic' ? 'quick' : spec.data.slice('synthetic:'.length);
    if (preset !== 'quick' && preset !== 'hard') throw new InvalidArgumentError(OP, 'data', `synthetic preset must be 'quick' or 'hard', got '${preset}'`);
    if (split !== 'train' && split !== 'val') throw new InvalidArgumentError(OP, 'split', `the synthetic set has the splits 'train' and 'val', got '${split}'`);
    const source = syntheticSource({ preset, split });
    const n = limit > 0 ? Math.min(limit, source.length) : source.length;
    const samples = await Promise.all(Array.from({ length: n }, (_, i) => source.get(i)));
    return withCocoIds(samples, source.classes, null, `built-in synthetic '${preset}' set, ${split} split`);
  }
  const kind = stat(spec.data);
  if (kind === null) throw new InvalidArgumentError(OP, 'data', `'${spec.data}' is neither 'synthetic' nor a file or folder`);
  // A VOC year folder, or the folder above it (VOCdevkit/VOC2012), as the trainer's --data takes it.
  const vocRoots = kind === 'dir' ? findVocRoots(spec.data) : [];
  if (vocRoots.length > 1) throw new InvalidArgumentError(OP, 'data', `'${spec.data}' holds several VOC folders (${vocRoots.join(', ')}): pass the one to evaluate on`);
  if (vocRoots[0] !== undefined) {
    const root = vocRoots[0];
    const ds = await readVoc(root, { split, checkImages: spec.needImages === true, ...(spec.classes ? { classes: spec.classes } : {}) });
    return withCocoIds(first(ds.samples), ds.classes, null, `VOC devkit ${root}, ${split} split`);
  }
  let annotations = spec.data;
  let images = spec.images ?? null;
  if (kind === 'dir') {
    const layout = findCocoLayout(spec.data);
    if (layout === null) {
      throw new InvalidArgumentError(OP, 'data', `'${spec.data}' is not a data folder detkit knows: expected a VOC devkit folder (ImageSets/Main, or the folder above one such as VOCdevkit/VOC2012) or a COCO folder (annotations/instances_{train,val}.json, train/_annotations.coco.json, ...); or pass a COCO instances file`);
    }
    const files = split === 'train' ? layout.train : split === 'val' ? layout.val : null;
    if (files === null) throw new InvalidArgumentError(OP, 'data', `COCO folder ${spec.data} has no '${split}' split (${layout.layout}); pass that split's instances file instead`);
    annotations = files.annotations;
    images ??= files.images;
  }
  // A model runs on the images: find their folder as the trainer does (an `images/` folder beside the file, say).
  if (images === null && spec.needImages === true) images = await cocoImageRoot({ annotations, images: null });
  const ds = await readCoco(annotations, { checkImages: spec.needImages === true, ...(images !== null ? { imageRoot: images } : {}) });
  return withCocoIds(first(ds.samples), ds.classes, ds.categoryIds, `COCO ${annotations}`);
}

function withCocoIds(samples: readonly DetectionSample[], classes: readonly string[], categoryIds: readonly number[] | null, description: string): GroundTruthSplit {
  const coco = categoryIds === null ? toCoco({ classes, samples }) : null;
  return {
    samples,
    classes,
    categoryIds: categoryIds ?? classes.map((_, i) => i + 1),
    imageIds: coco === null ? samples.map((s) => s.id) : coco.images.map((im) => im.id),
    description: `${description}: ${samples.length} images, ${classes.length} classes`,
  };
}
