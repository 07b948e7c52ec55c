export {
  readSafetensors,
  writeSafetensors,
  safetensorsToFloat32,
  safetensorsToBigInt64,
  SAFETENSORS_DTYPE_SIZE,
  type SafetensorsDtype,
  type SafetensorsEntry,
  type SafetensorsFile,
  type SafetensorsInput,
  type SafetensorsData,
} from './safetensors';
export { SafetensorsError, StateDictError, type StateDictProblem } from './errors';
export { TorchParameters, type ParamSpec, type ParamLayout, type LoadStateDictOptions, type LoadStateDictReport } from './state-dict';
export {
  activate,
  conv2d,
  batchNorm2d,
  conv2dNormActivation,
  squeezeExcitation,
  sequential,
  linear,
  type LinearLayer,
  type Layer,
  type Activation,
  type BuildContext,
  type ModelMode,
  type Conv2dOptions,
  type ConvNormActivationOptions,
} from './layers';
export {
  makeDivisible,
  mobilenetV3LargeConfig,
  mobilenetV3LargeFeatures,
  invertedResidual,
  runBlock,
  type InvertedResidualConfig,
  type InvertedResidualBlock,
  type MobileNetV3ConfigOptions,
  type MobileNetV3Features,
} from './mobilenet-v3';
export {
  ssdlite320MobilenetV3Large,
  SSDLITE320_DEFAULTS,
  SSDLITE_BATCH_NORM_EPS,
  SSDLITE_BATCH_NORM_MOMENTUM,
  SSD_TRAINING,
  type SsdliteTarget,
  type SsdliteLoss,
  type Ssdlite320Options,
  type Ssdlite320MobilenetV3Large,
  type SsdliteForward,
  type SsdliteDetectOptions,
} from './ssdlite';
export {
  ssdliteDetector,
  fasterRcnnDetector,
  registerTorchvisionDetectors,
  SSDLITE_KIND,
  FASTER_RCNN_KINDS,
  type FasterRcnnKind,
  type FasterRcnnDetector,
  type FasterRcnnDetectorConfig,
  type FasterRcnnDetectorOptions,
  type SsdliteDetector,
  type SsdliteDetectorConfig,
  type SsdliteDetectorOptions,
} from './detector';
export { featurePyramidNetwork, lastLevelMaxPool, type FeaturePyramidOptions, type FeaturePyramid } from './fpn';
export { rpnHead, rpnAnchors, flattenRpnLevels, type RpnHeadLevels } from './rpn';
export { twoMlpHead, fastRcnnPredictor, boxRoiPool } from './roi-heads';
export { generalizedRcnnTransform, type RcnnTransformOptions, type RcnnTransform, type RcnnImageList } from './rcnn-transform';
export {
  fasterrcnnMobilenetV3LargeFpn,
  fasterrcnnMobilenetV3Large320Fpn,
  fasterrcnnResnet50Fpn,
  FASTER_RCNN_DEFAULTS,
  FASTER_RCNN_TRAINING,
  FASTER_RCNN_MOBILENET_BATCH_NORM_EPS,
  FASTER_RCNN_RESNET_BATCH_NORM_EPS,
  MOBILENET_FPN_ANCHORS,
  RESNET_FPN_ANCHORS,
  type FasterRcnn,
  type FasterRcnnOptions,
  type FasterRcnnMobilenetOptions,
  type FasterRcnnMobilenetV3LargeFpn,
  type FasterRcnnResnet50FpnOptions,
  type FasterRcnnResnet50Fpn,
  type FasterRcnnBoxOutputs,
  type FasterRcnnTarget,
  type FasterRcnnLoss,
  type FasterRcnnLossOptions,
  type FasterRcnnSampled,
} from './faster-rcnn';
export { resnet50Body, resnetBottleneck, resnetTrainableLayers, RESNET50_LAYERS, type ResNetBody, type ResNetBodyOptions, type ResNetBottleneckOptions } from './resnet';
export { RESIZE_BILINEAR_KERNEL } from './kernel-names';
