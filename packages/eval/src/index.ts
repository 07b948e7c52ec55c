export type { GroundTruth, Detections, BoxesInput, ValuesInput } from './inputs';
export {
  evaluateCoco,
  COCO_IOU_THRESHOLDS,
  COCO_RECALL_THRESHOLDS,
  COCO_AREA_RANGES,
  type CocoArea,
  type CocoEvalOptions,
  type CocoResult,
  type CocoStats,
  type CocoClassResult,
  type PrCurve,
} from './coco-eval';
export { evaluateVoc, vocAp, vocCurve, type VocApMethod, type VocEvalOptions, type VocResult, type VocClassResult } from './voc-eval';
export { prCurveSvg, type PlotCurve, type PrCurveSvgOptions } from './pr-curve-svg';
export { formatApTable, type ApTableRow, type ApTableOptions } from './ap-table';
