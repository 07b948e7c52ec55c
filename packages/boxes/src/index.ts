export { convertBoxes, BOX_FORMATS, type BoxFormat } from './convert-boxes';
export { boxArea } from './box-area';
export {
  boxIou,
  generalizedBoxIou,
  distanceBoxIou,
  completeBoxIou,
  alignedBoxIou,
  alignedGeneralizedBoxIou,
  alignedDistanceBoxIou,
  alignedCompleteBoxIou,
  pairwiseIouOps,
  type IouKind,
  type DistanceIouOptions,
} from './box-iou';
export { clipBoxes } from './clip-boxes';
export { removeSmallBoxes } from './remove-small-boxes';
export {
  encodeBoxes,
  decodeBoxes,
  DEFAULT_SCALE_CLAMP,
  MAX_SCALE_CLAMP,
  RPN_BOX_CODER_WEIGHTS,
  ROI_BOX_CODER_WEIGHTS,
  type BoxCoderWeights,
  type EncodeBoxesOptions,
  type DecodeBoxesOptions,
} from './box-coder';
export { nms, batchedNms, type NmsOptions } from './nms';
export { softNms, type SoftNmsOptions, type SoftNmsResult } from './soft-nms';
export { PAIRWISE_IOU_KERNEL, NMS_KERNEL, SOFT_NMS_KERNEL, REMOVE_SMALL_BOXES_KERNEL, ENCODE_BOXES_KERNEL } from './kernel-names';
