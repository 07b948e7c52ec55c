export { createRng, type Rng, type SeededRng, type RngState, type RandomOptions } from './rng';
export {
  sampleBalanced,
  RPN_SAMPLER_OPTIONS,
  ROI_SAMPLER_OPTIONS,
  type SampleBalancedOptions,
  type SamplerBudget,
  type SampleResult,
} from './sample-balanced';
export { mineHardNegatives, SSD_NEG_POS_RATIO, type MineHardNegativesOptions } from './mine-hard-negatives';
export { sampleOhem, type SampleOhemOptions } from './sample-ohem';
export { buildRpnTargets, type RpnTargetOptions, type RpnTargets } from './build-rpn-targets';
export { buildRoiTargets, type RoiTargetOptions, type RoiTargets } from './build-roi-targets';
export { buildSsdTargets, buildSsdTargetsBatch, type SsdTargetOptions, type SsdTargets, type SsdBatchTargets } from './build-ssd-targets';
export { BALANCED_SAMPLE_KERNEL, OHEM_KERNEL, MINE_HARD_NEGATIVES_KERNEL, SCATTER_ROWS_KERNEL, GATHER_MATCHED_KERNEL, GATHER_SAMPLED_KERNEL, MATCHED_CLASSES_KERNEL } from './kernel-names';
