/** Helpers shared by the detectors (not exported from the package). */
import { InvalidArgumentError, tf } from '@detkit/core';
import type { Detections } from '@detkit/heads';
import type { Backbone } from './backbone';
import { createConvBackbone, type ConvBackboneConfig } from './backbone';
import type { DetectionResult, ImageTargets } from './detector';

/** `[height, width]` from one number or a pair of positive integers. */
export function imageSizeOption(op: string, value: unknown): [number, number] {
  const pair = typeof value === 'number' ? [value, value] : value;
  if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((v) => Number.isInteger(v) && v > 0)) {
    throw new InvalidArgumentError(op, 'imageSize', `must be a positive integer or [height, width], got ${JSON.stringify(value)}`);
  }
  return [pair[0] as number, pair[1] as number];
}

/** The backbone a detector uses: the user's own, or a {@link createConvBackbone} from its config. */
export function resolveBackbone(
  backbone: Backbone | Partial<ConvBackboneConfig> | undefined,
  seed: number | undefined,
  name: string | undefined,
): { backbone: Backbone; config: ConvBackboneConfig | 'custom' } {
  if (backbone !== undefined && typeof (backbone as Backbone).apply === 'function') return { backbone: backbone as Backbone, config: 'custom' };
  const conv = createConvBackbone({ ...(backbone as Partial<ConvBackboneConfig> | undefined), seed, name: name === undefined ? undefined : `${name}_backbone` });
  return { backbone: conv, config: conv.config };
}

/** Ground-truth boxes [N, 4] and 1-based class ids [N] (0 is the detectors' background) of one image. */
export function targetTensors(t: ImageTargets): { boxes: tf.Tensor2D; classes: tf.Tensor1D } {
  const n = t.labels.length;
  return {
    boxes: tf.tensor2d(t.boxes.subarray(0, 4 * n), [n, 4], 'float32'),
    classes: tf.tensor1d(Int32Array.from(t.labels, (l) => l + 1), 'int32'),
  };
}

/** Reads and disposes @detkit/heads' detections into plain arrays with 0-based labels. */
export function readDetections(detections: Detections[]): DetectionResult[] {
  const out = detections.map((d) => ({
    boxes: d.boxes.dataSync() as Float32Array,
    scores: d.scores.dataSync() as Float32Array,
    labels: Int32Array.from(d.labels.dataSync(), (l) => l - 1),
  }));
  tf.dispose(detections.flatMap((d) => [d.boxes, d.scores, d.labels]));
  return out;
}

/** Prefixes the keys of a variable map. */
export function prefixed(prefix: string, variables: Readonly<Record<string, tf.Variable>>): Record<string, tf.Variable> {
  return Object.fromEntries(Object.entries(variables).map(([k, v]) => [`${prefix}/${k}`, v]));
}
