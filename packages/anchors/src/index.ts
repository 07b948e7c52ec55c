export {
  generateAnchors,
  cellAnchors,
  FASTER_RCNN_VGG16_ANCHORS,
  DEFAULT_ANCHOR_RATIOS,
  type GenerateAnchorsOptions,
  type CellAnchorsOptions,
} from './generate-anchors';
export { generateMultiLevelAnchors, type AnchorLevel, type MultiLevelAnchorsOptions, type MultiLevelAnchors } from './multi-level-anchors';
export { anchorsInsideImage, type AnchorsInsideImageOptions } from './anchors-inside-image';
export { MAX_ANCHORS } from './internal';
export { ssdDefaultBoxes, ssdBoxesPerLocation, SSD300, SSDLITE320, SSD_MIN_RATIO, SSD_MAX_RATIO, type SsdDefaultBoxesConfig } from './ssd-default-boxes';
export { ANCHORS_INSIDE_IMAGE_KERNEL } from './kernel-names';
