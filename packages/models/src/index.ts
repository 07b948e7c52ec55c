// Training needs tfjs-core's gradients: registered in browser bundles too (in Node @detkit/core already has them).
import '@detkit/core/gradients';

export {
  createConvBackbone,
  DEFAULT_BACKBONE_CHANNELS,
  defaultConvsPerStage,
  BATCH_NORM_MOMENTUM,
  BATCH_NORM_EPSILON,
  batchNormTrain,
  type Backbone,
  type FeatureLevel,
  type ConvBackbone,
  type ConvBackboneOptions,
  type ConvBackboneConfig,
} from './backbone';
export { trainableVariables } from './detector';
export type { Detector, DetectorLoss, DetectorLossOptions, DetectOptions, DetectionResult, ImageTargets } from './detector';
export {
  createSsd,
  SSD_ASPECT_RATIOS,
  SSD_SCALES,
  type Ssd,
  type SsdConfig,
  type SsdOptions,
  type SsdRecipe,
  type SsdDefaultBoxesRecipe,
} from './ssd';
export { SSD_DEFAULT_POSTPROCESS, SSD_DETECTIONS_PER_IMAGE, FASTER_RCNN_DEFAULT_POSTPROCESS, type PostprocessConfig } from './postprocess';
export { describeRecipe, recipeFields, type RecipeField } from './recipe';
export {
  createFasterRcnn,
  FASTER_RCNN_ANCHOR_SIZES,
  FASTER_RCNN_ANCHOR_OFFSET,
  FASTER_RCNN_PROPOSAL_COUNTS,
  FASTER_RCNN_ROI_BATCH_SIZE,
  type FasterRcnn,
  type FasterRcnnConfig,
  type FasterRcnnOptions,
  type FasterRcnnRecipe,
  type AnchorsRecipe,
  type RpnRecipe,
  type RoiHeadsRecipe,
  type PerPhase,
  type RecipeOptions,
} from './faster-rcnn';
export {
  createDetector,
  registerDetectorKind,
  detectorKinds,
  saveDetector,
  loadDetector as loadDetectorModel,
  assignDetectorWeights,
  detectorTopology,
  type DetectorConfig,
  type DetectorFactory,
  type DetectorTopology,
  type CreateDetectorOptions,
} from './detector-weights';
export {
  loadDetector,
  type ImageDetector,
  type Detection,
  type DetectorImage,
  type DetectorSource,
  type DetectImageOptions,
  type LoadDetectorOptions,
  type ImageDataLike,
  type CanvasImageSourceLike,
} from './load-detector';
export { DETECTOR_FORMAT_VERSION, UnsupportedFormatVersionError, detectorFormatVersion } from './format-version';
export { adam, FusedAdamOptimizer } from './adam';
export { disposeOptimizer, optimizerState, restoreOptimizerState, setLearningRate, type NamedTensor } from './optimizer-state';
