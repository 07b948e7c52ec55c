import { FASTER_RCNN_POSTPROCESS, SSD_POSTPROCESS } from '@detkit/heads';
import { field, integerFrom, numberIn, type Group } from './recipe-fields';

/**
 * Post-processing of a detector's outputs at inference (the options of @detkit/heads'
 * `postprocessDetections`, which the detector's box-coder weights complete).
 */
export interface PostprocessConfig {
  /** Detections need a class probability above this, in [0, 1]. */
  scoreThreshold: number;
  /** Class-aware NMS IoU threshold, in [0, 1]. */
  nmsThreshold: number;
  /** Detections kept per image. */
  detectionsPerImage: number;
  /** Candidates kept per class before NMS; absent: no limit (torchvision's RoIHeads has none). */
  topkCandidates?: number;
  /** Detected boxes with a side below this (pixels) are dropped. */
  minSize: number;
}

/**
 * SSD's detections per image: 100, not torchvision's 200 (`detections_per_img`), as Faster R-CNN's and as
 * many as COCO's AP and AR@100 count.
 */
export const SSD_DETECTIONS_PER_IMAGE = 100;

/** Default post-processing of SSD: torchvision's `SSD_POSTPROCESS` (score 0.01, NMS 0.45, top 400 per class) with {@link SSD_DETECTIONS_PER_IMAGE}. */
export const SSD_DEFAULT_POSTPROCESS: Readonly<PostprocessConfig> = Object.freeze({ ...SSD_POSTPROCESS, detectionsPerImage: SSD_DETECTIONS_PER_IMAGE });

/**
 * Default post-processing of Faster R-CNN: @detkit/heads' `FASTER_RCNN_POSTPROCESS`, torchvision's
 * RoIHeads (score 0.05, NMS 0.5, 100 per image, boxes under 0.01 px dropped, no per-class limit).
 */
export const FASTER_RCNN_DEFAULT_POSTPROCESS: Readonly<PostprocessConfig> = Object.freeze({
  scoreThreshold: FASTER_RCNN_POSTPROCESS.scoreThreshold,
  nmsThreshold: FASTER_RCNN_POSTPROCESS.nmsThreshold,
  detectionsPerImage: FASTER_RCNN_POSTPROCESS.detectionsPerImage,
  minSize: FASTER_RCNN_POSTPROCESS.minSize,
  // FASTER_RCNN_POSTPROCESS.topkCandidates is Infinity, which JSON cannot hold: absent means the same.
});

/** The `postprocess` group of a recipe; `prefix` is torchvision's keyword prefix (`box_` for RoIHeads). */
export function postprocessGroup(kind: 'ssd' | 'faster-rcnn'): Group {
  const frcnn = kind === 'faster-rcnn';
  const constant = frcnn ? 'FASTER_RCNN_POSTPROCESS' : 'SSD_DEFAULT_POSTPROCESS';
  const d = frcnn ? FASTER_RCNN_DEFAULT_POSTPROCESS : SSD_DEFAULT_POSTPROCESS;
  const tv = (name: string) => (frcnn ? `box_${name}` : name);
  return {
    scoreThreshold: field(numberIn(0, 1), 'detections need a class probability above this', `${d.scoreThreshold} (${constant})`, tv('score_thresh')),
    nmsThreshold: field(numberIn(0, 1), 'class-aware NMS IoU threshold of the detections', `${d.nmsThreshold} (${constant})`, tv('nms_thresh')),
    detectionsPerImage: field(integerFrom(0), 'detections kept per image', `${d.detectionsPerImage} (${frcnn ? constant : 'SSD_DETECTIONS_PER_IMAGE; torchvision 200'})`, tv('detections_per_img')),
    topkCandidates: field(
      integerFrom(1),
      'candidates kept per class before NMS',
      frcnn ? 'none (FASTER_RCNN_POSTPROCESS)' : `${d.topkCandidates} (SSD_POSTPROCESS)`,
      frcnn ? '- (RoIHeads has no per-class limit)' : 'topk_candidates',
    ),
    minSize: field(numberIn(0, Number.MAX_VALUE), 'detected boxes with a side below this (pixels) are dropped', `${d.minSize} (${constant})`, frcnn ? 'RoIHeads remove_small_boxes(min_size=1e-2)' : '- (none)'),
  };
}
