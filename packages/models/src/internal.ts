/** Helpers shared by the detectors (not exported from the package). */
import type { BoxCoderWeights } from '@detkit/boxes';
import { assertGpuContext, InvalidArgumentError, tf } from '@detkit/core';
import { postprocessDetections, type DetectionInputs } from '@detkit/heads';
import type { Backbone } from './backbone';
import { createConvBackbone, type ConvBackboneConfig } from './backbone';
import type { DetectOptions, DetectionResult, ImageTargets } from './detector';
import type { PostprocessConfig } from './postprocess';

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

/**
 * A detector's `detect`: runs `outputs` (the network's class logits, box deltas and reference boxes, made
 * inside a tidy) through @detkit/heads' `postprocessDetections` with the detector's `postprocess` config
 * and box-coder `weights`, `detectOptions` overriding its score threshold and detections per image, and
 * reads the detections into plain arrays with 0-based labels. No tensor outlives the call.
 * @throws BackendUnavailableError when the backend is `webgl` and its context was lost: what was read back
 *   is zeros, not "nothing found" (`assertGpuContext`).
 */
export function runDetections(outputs: () => DetectionInputs, postprocess: PostprocessConfig, weights: BoxCoderWeights, detectOptions: DetectOptions): DetectionResult[] {
  const raw = tf.tidy(() =>
    postprocessDetections(outputs(), {
      ...postprocess,
      weights,
      scoreThreshold: detectOptions.scoreThreshold ?? postprocess.scoreThreshold,
      detectionsPerImage: detectOptions.detectionsPerImage ?? postprocess.detectionsPerImage,
    }).flatMap((d) => [d.boxes, d.scores, d.labels]),
  );
  const out: DetectionResult[] = [];
  for (let i = 0; i < raw.length; i += 3) {
    out.push({
      boxes: raw[i]!.dataSync() as Float32Array,
      scores: raw[i + 1]!.dataSync() as Float32Array,
      labels: Int32Array.from(raw[i + 2]!.dataSync(), (l) => l - 1),
    });
  }
  tf.dispose(raw);
  assertGpuContext('detect');
  return out;
}

/** Prefixes the keys of a variable map. */
export function prefixed(prefix: string, variables: Readonly<Record<string, tf.Variable>>): Record<string, tf.Variable> {
  return Object.fromEntries(Object.entries(variables).map(([k, v]) => [`${prefix}/${k}`, v]));
}
