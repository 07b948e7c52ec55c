import { existsSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from '@detkit/core';
import { syntheticSource, type DetectionSample, type SampleSource } from '@detkit/data';
import { readCoco, readVoc } from '@detkit/data/node';

/** The training and validation samples of a run, and the class names. */
export interface RunData {
  train: SampleSource;
  val: SampleSource;
  classes: readonly string[];
  /** How the data was found, for the log. */
  description: string;
}

function limited(source: SampleSource, limit: number): SampleSource {
  if (limit <= 0 || limit >= source.length) return source;
  return { length: limit, classes: source.classes, get: (i) => source.get(i) };
}

function fromArray(samples: readonly DetectionSample[], classes: readonly string[]): SampleSource {
  return { length: samples.length, classes, get: (i) => samples[i] as DetectionSample };
}

/**
 * Opens the data of a run (see `TrainConfig.data`): the built-in synthetic set (rendered on demand, seed 0),
 * a COCO-layout folder or a VOC devkit folder.
 */
export async function openData(data: string, limits: { train: number; val: number } = { train: 0, val: 0 }): Promise<RunData> {
  let train: SampleSource;
  let val: SampleSource;
  let description: string;
  if (data === 'synthetic' || data.startsWith('synthetic:')) {
    const preset = data === 'synthetic' ? 'quick' : data.slice('synthetic:'.length);
    if (preset !== 'quick' && preset !== 'hard') throw new InvalidArgumentError('detkit-train', 'data', `synthetic preset must be 'quick' or 'hard', got '${preset}'`);
    train = syntheticSource({ preset, split: 'train' });
    val = syntheticSource({ preset, split: 'val' });
    description = `built-in synthetic '${preset}' set`;
  } else if (existsSync(path.join(data, 'ImageSets', 'Main'))) {
    const t = await readVoc(data, { split: 'train' });
    const v = await readVoc(data, { split: 'val' });
    train = fromArray(t.samples, t.classes);
    val = fromArray(v.samples, v.classes);
    description = `VOC devkit ${data}`;
  } else if (existsSync(path.join(data, 'annotations'))) {
    const open = async (split: string) => {
      const file = path.join(data, 'annotations', `instances_${split}.json`);
      const ds = await readCoco(file, { imageRoot: path.join(data, split) });
      return fromArray(ds.samples, ds.classes);
    };
    train = await open('train');
    val = await open('val');
    description = `COCO folder ${data}`;
  } else {
    throw new InvalidArgumentError('detkit-train', 'data', `'${data}' is neither 'synthetic', a COCO-layout folder (annotations/instances_train.json) nor a VOC devkit folder (ImageSets/Main)`);
  }
  return { train: limited(train, limits.train), val: limited(val, limits.val), classes: train.classes, description };
}
