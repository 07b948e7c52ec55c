export { createRpnHead, type RpnHead, type RpnHeadOptions, type RpnHeadOutput } from './rpn-head';
export {
  proposalLayer,
  PROPOSAL_PRESETS,
  type ProposalLayerInputs,
  type ProposalLayerOptions,
  type ProposalOrder,
  type Proposals,
} from './proposal-layer';
export { roiAlign, ROI_ALIGN_MAX_SAMPLES_PER_BIN, ROI_ALIGN_MAX_WORK, type RoiAlignOptions } from './roi-align';
export { multiScaleRoiAlign, type MultiScaleRoiAlignOptions } from './multi-scale-roi-align';
export { roiPool, type RoiPoolOptions } from './roi-pool';
export { createBoxHead, type BoxHead, type BoxHeadOptions, type BoxHeadOutput } from './box-head';
export { createSsdHead, type SsdHead, type SsdHeadOptions, type SsdHeadOutput } from './ssd-head';
export {
  postprocessDetections,
  FASTER_RCNN_POSTPROCESS,
  SSD_POSTPROCESS,
  type DetectionInputs,
  type Detections,
  type PostprocessOptions,
} from './postprocess-detections';
export { saveHeadWeights, loadHeadWeights, type HeadWeights } from './head-weights';
export type { HeadCommonOptions } from './weights';
export { MAX_PARAMETER_SIZE } from './weights';
export {
  ROI_ALIGN_KERNEL,
  ROI_ALIGN_GRAD_KERNEL,
  ROI_POOL_KERNEL,
  ROI_POOL_GRAD_KERNEL,
  PROPOSAL_CANDIDATES_KERNEL,
  DETECTION_CANDIDATES_KERNEL,
  type RoiAlignKernelAttrs,
  type RoiAlignGradKernelAttrs,
} from './kernel-names';
