/**
 * The detectors' options and configurations from before the typed recipe (not exported from the package):
 * flat `aspectRatios`, `scales`, `negPosRatio`, `matchThreshold` (SSD) and `anchorSizes`, `anchorRatios`,
 * `rpnBatchSize`, `roiBatchSize`, `proposals: { train, test }` (Faster R-CNN), which checkpoints saved then
 * hold and older scripts pass. They are read as the recipe fields they became.
 */
import { InvalidArgumentError } from '@detkit/core';

/** Legacy keys and the recipe groups that replace them (a legacy key and its group cannot both be given). */
const LEGACY_KEYS = {
  ssd: { aspectRatios: 'defaultBoxes', scales: 'defaultBoxes', negPosRatio: 'loss', matchThreshold: 'matcher' },
  'faster-rcnn': { anchorSizes: 'anchors', anchorRatios: 'anchors', rpnBatchSize: 'rpn', proposals: 'rpn', roiBatchSize: 'roiHeads' },
} as const;

interface LegacyProposals {
  preNmsTopN?: number;
  postNmsTopN?: number;
  nmsThreshold?: number;
  minSize?: number;
}

/**
 * `options` with its legacy keys rewritten as recipe groups; options without legacy keys are returned as
 * they are. What legacy configurations did not hold were constants then, equal to today's defaults except
 * Faster R-CNN's post-processing `minSize`, which was 0 (it is torchvision's 1e-2 now): it is set to 0.
 */
export function upgradeLegacyOptions<T extends object>(op: string, kind: 'ssd' | 'faster-rcnn', options: T): T {
  const o = options as Record<string, unknown>;
  const legacy = Object.entries(LEGACY_KEYS[kind]).filter(([key]) => o[key] !== undefined);
  if (legacy.length === 0) return options;
  for (const [key, group] of legacy) {
    if (o[group] !== undefined) throw new InvalidArgumentError(op, key, `is the old name of a field of '${group}': give one of them`);
  }
  if (kind === 'ssd') {
    const { aspectRatios, scales, negPosRatio, matchThreshold, ...rest } = o;
    return { ...rest, defaultBoxes: { aspectRatios, scales }, matcher: { threshold: matchThreshold }, loss: { negPosRatio } } as T;
  }
  const { anchorSizes, anchorRatios, rpnBatchSize, roiBatchSize, proposals, postprocess, ...rest } = o;
  const { train = {}, test = {} } = (proposals ?? {}) as { train?: LegacyProposals; test?: LegacyProposals };
  for (const key of ['nmsThreshold', 'minSize'] as const) {
    if (test[key] !== undefined && train[key] !== undefined && test[key] !== train[key]) {
      throw new InvalidArgumentError(op, `proposals.test.${key}`, `(${test[key]}) differs from proposals.train's (${train[key]}): the recipe has one rpn.${key} for both phases, as torchvision`);
    }
  }
  return {
    ...rest,
    anchors: { sizes: anchorSizes, aspectRatios: anchorRatios },
    rpn: {
      sampler: { batchSize: rpnBatchSize },
      preNmsTopN: { training: train.preNmsTopN, testing: test.preNmsTopN },
      postNmsTopN: { training: train.postNmsTopN, testing: test.postNmsTopN },
      nmsThreshold: train.nmsThreshold ?? test.nmsThreshold,
      minSize: train.minSize ?? test.minSize,
    },
    roiHeads: { sampler: { batchSize: roiBatchSize } },
    postprocess: { minSize: 0, ...(postprocess as object | undefined) },
  } as T;
}
