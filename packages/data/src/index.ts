export { DataError, MAX_SKIP_EXAMPLES, emptySkipReport, type DataIssue, type DataIssueKind, type OnInvalid, type SkipReport } from './errors';
export type { RgbImage, ImageSource, DetectionSample, DetectionDataset, SampleSource, SourceSpec } from './types';
export { createRandom, mixSeed, permutation, type Random } from './random';
export { decodeImage, encodePng, applyOrientation, MAX_IMAGE_MEGAPIXELS, type DecodeImageOptions } from './decode-image';
export { imageFormat, readImageHeader, type ImageHeader } from './image-header';
export { fetchImage, type ImageLoader } from './load-image';
export { DEFAULT_BOX_TOLERANCE, type ReadOptions } from './internal';
export { parseCoco, toCoco, type ParseCocoOptions, type CocoDataset, type CocoJson, type ToCocoOptions } from './coco';
export { parseVocXml, vocClassNames, VOC_CLASSES, type ParseVocOptions, type VocRecord } from './voc';
export {
  syntheticSample,
  syntheticSource,
  syntheticConfig,
  SYNTHETIC_PRESETS,
  SYNTHETIC_VERSION,
  type ShapeKind,
  type SyntheticConfig,
  type SyntheticOptions,
  type SyntheticPreset,
  type SyntheticSplit,
} from './synthetic';
export { planResize, boxesToInput, boxesToOriginal, type ResizeMode, type ResizePlan } from './resize-plan';
export {
  adjustBrightness,
  adjustContrast,
  adjustSaturation,
  adjustHue,
  colorJitter,
  sampleColorJitter,
  type ColorJitterOptions,
  type ColorJitterParams,
} from './color-jitter';
export {
  createLoader,
  IMAGENET_NORMALIZATION,
  type LoaderOptions,
  type Loader,
  type Batch,
  type ImageMeta,
  type ImageTargets,
  type Normalization,
} from './loader';
export {
  AUGMENT_PRESETS,
  IOU_CROP_MAX_ROUNDS,
  SSD_IOU_CROP_OPTIONS,
  SSD_ZOOM_OUT_FILL,
  resolveAugment,
  sampleIouCrop,
  samplePhotometric,
  sampleZoomOut,
  type AugmentOptions,
  type AugmentPreset,
  type IouCropOptions,
  type IouCropResult,
  type PhotometricDistortOptions,
  type PhotometricParams,
  type ResolvedAugment,
  type ZoomOutOptions,
  type ZoomOutParams,
} from './ssd-augment';
export {
  createImageCache,
  createInlineExecutor,
  prepareBatch,
  type BatchItem,
  type BatchRequest,
  type ImageCache,
  type InlineExecutorOptions,
  type LoaderExecutor,
  type PrepareBatchDeps,
  type PreparedBatch,
} from './executor';
export { prepareImage, type PrepareConfig } from './prepare';
export { splitSamples } from './split-samples';
