export {
  createMaxIouMatcher,
  RPN_MATCHER_OPTIONS,
  ROI_MATCHER_OPTIONS,
  PY_FASTER_RCNN_BG_THRESH_LO,
  type MaxIouMatcherOptions,
  type Matcher,
  type MatchResult,
  type BatchMatchResult,
} from './max-iou-matcher';
export { createSsdMatcher, SSD_MATCH_THRESHOLD, type SsdMatcherOptions } from './ssd-matcher';
export { MAX_IOU_MATCH_KERNEL, SSD_MATCH_KERNEL } from './kernel-names';
