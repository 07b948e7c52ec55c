import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { toCoco } from '../coco';
import { encodePng } from '../decode-image';
import { SYNTHETIC_VERSION, syntheticSource, type SyntheticOptions, type SyntheticSplit } from '../synthetic';
import type { DetectionSample, RgbImage } from '../types';

/** Options of {@link writeSynthetic}. */
export interface WriteSyntheticOptions extends Omit<SyntheticOptions, 'split' | 'count'> {
  /** Images per split; default the preset's counts. */
  counts?: Partial<Record<SyntheticSplit, number>>;
  /** Splits to write; default both. */
  splits?: readonly SyntheticSplit[];
  /** Write even when the folder already holds this exact set; default false. */
  force?: boolean;
}

/** Where a written synthetic set lies. */
export interface SyntheticFiles {
  /** The folder. */
  readonly root: string;
  /** Per split: the COCO annotation file and the folder its `file_name`s are relative to. */
  readonly splits: Partial<Record<SyntheticSplit, { readonly annotationFile: string; readonly imageRoot: string; readonly count: number }>>;
  /** False when an identical set was already there and nothing was written. */
  readonly written: boolean;
}

const MANIFEST = 'synthetic.json';

/**
 * Writes the synthetic set as files any tool can train on (Node): COCO layout, PNG images.
 *
 * ```
 * <root>/train/000000.png ...          <root>/annotations/instances_train.json
 * <root>/val/000000.png ...            <root>/annotations/instances_val.json
 * <root>/synthetic.json                (what was generated: preset, config, seed, counts, version)
 * ```
 *
 * torchvision reads it with `CocoDetection('<root>/train', '<root>/annotations/instances_train.json')`;
 * detkit with `readCoco(files.splits.train.annotationFile, { imageRoot: files.splits.train.imageRoot })`.
 * Category ids are 1..K in class order; image ids are the image indices.
 *
 * Cache-friendly: the manifest is written last, and when it already describes the requested set the
 * call returns without writing. Deterministic: the same options give byte-identical files.
 */
export async function writeSynthetic(root: string, options: WriteSyntheticOptions = {}): Promise<SyntheticFiles> {
  const splits = options.splits ?? (['train', 'val'] as const);
  const seed = options.seed ?? 0;
  const sources = splits.map((split) => {
    const count = options.counts?.[split];
    return {
      split,
      source: syntheticSource({ ...(options.preset ? { preset: options.preset } : {}), ...(options.config ? { config: options.config } : {}), seed, split, ...(count !== undefined ? { count } : {}) }),
    };
  });
  const manifest = JSON.stringify(
    {
      generator: '@detkit/data writeSynthetic',
      version: SYNTHETIC_VERSION,
      preset: options.preset ?? 'quick',
      seed,
      config: sources[0]?.source.config,
      counts: Object.fromEntries(sources.map((s) => [s.split, s.source.length])),
    },
    null,
    2,
  );
  const files: SyntheticFiles['splits'] = {};
  for (const { split, source } of sources) {
    files[split] = { annotationFile: path.join(root, 'annotations', `instances_${split}.json`), imageRoot: path.join(root, split), count: source.length };
  }
  const manifestFile = path.join(root, MANIFEST);
  if (!options.force) {
    const existing = await readFile(manifestFile, 'utf8').catch(() => null);
    if (existing === manifest) return { root, splits: files, written: false };
  }
  await mkdir(path.join(root, 'annotations'), { recursive: true });
  for (const { split, source } of sources) {
    const dir = path.join(root, split);
    await mkdir(dir, { recursive: true });
    const samples: DetectionSample[] = [];
    const name = (i: number) => `${String(i).padStart(6, '0')}.png`;
    for (let i = 0; i < source.length; i++) {
      const s = (await source.get(i)) as DetectionSample;
      await writeFile(path.join(dir, name(i)), encodePng(s.image as RgbImage));
      // Keep the annotations only: the pixels are on disk now.
      samples.push({ ...s, image: name(i) });
    }
    const coco = toCoco({ classes: source.classes, samples }, { info: { description: `detkit synthetic shapes, ${split}`, preset: options.preset ?? 'quick', seed, version: SYNTHETIC_VERSION } });
    const ann = (files[split] as { annotationFile: string }).annotationFile;
    await writeFile(`${ann}.tmp`, JSON.stringify(coco));
    await rename(`${ann}.tmp`, ann);
  }
  await writeFile(manifestFile, manifest);
  return { root, splits: files, written: true };
}
