export { DataError, MAX_SKIP_EXAMPLES, emptySkipReport, type DataIssue, type DataIssueKind, type OnInvalid, type SkipReport } from './errors';
export type { RgbImage, ImageSource, DetectionSample, DetectionDataset, SampleSource } from './types';
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
  type ImageTargets,
  type Normalization,
} from './loader';
