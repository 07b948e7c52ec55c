export {
  createConvBackbone,
  DEFAULT_BACKBONE_CHANNELS,
  BATCH_NORM_MOMENTUM,
  BATCH_NORM_EPSILON,
  type Backbone,
  type FeatureLevel,
  type ConvBackbone,
  type ConvBackboneOptions,
  type ConvBackboneConfig,
} from './backbone';
export { trainableVariables } from './detector';
export type { Detector, DetectorLoss, DetectorLossOptions, DetectOptions, DetectionResult, ImageTargets } from './detector';
export { createSsd, SSD_DEFAULT_POSTPROCESS, type Ssd, type SsdConfig, type SsdOptions, type PostprocessConfig } from './ssd';
export {
  createFasterRcnn,
  FASTER_RCNN_DEFAULT_PROPOSALS,
  FASTER_RCNN_DEFAULT_POSTPROCESS,
  type FasterRcnn,
  type FasterRcnnConfig,
  type FasterRcnnOptions,
  type ProposalConfig,
} from './faster-rcnn';
export {
  createDetector,
  saveDetector,
  loadDetector,
  assignDetectorWeights,
  detectorTopology,
  type DetectorConfig,
  type DetectorTopology,
  type CreateDetectorOptions,
} from './detector-weights';
export { disposeOptimizer, optimizerState, restoreOptimizerState, setLearningRate, type NamedTensor } from './optimizer-state';
