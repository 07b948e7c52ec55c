// Training needs tfjs-core's gradients: registered in browser bundles too (in Node @detkit/core already has them).
import '@detkit/core/gradients';

export { smoothL1Loss, type SmoothL1LossOptions } from './smooth-l1-loss';
export { crossEntropyLoss, IGNORE_INDEX, type CrossEntropyLossOptions } from './cross-entropy-loss';
export { binaryCrossEntropyWithLogits, type BinaryCrossEntropyWithLogitsOptions } from './binary-cross-entropy-with-logits';
export { sigmoidFocalLoss, type SigmoidFocalLossOptions } from './sigmoid-focal-loss';
export { giouLoss, diouLoss, ciouLoss, type BoxIouLossOptions } from './box-iou-losses';
export { rpnLoss, RPN_LOSS_WEIGHTS, type RpnLossOptions, type RpnNormalization } from './rpn-loss';
export { fastRcnnLoss, FAST_RCNN_LOSS_WEIGHTS, type FastRcnnLossOptions, type FastRcnnNormalization } from './fast-rcnn-loss';
export { multiboxLoss, MULTIBOX_LOSS_WEIGHTS, type MultiboxLossOptions } from './multibox-loss';
export type { DetectionLoss, Reduction } from './internal';
export { SMOOTH_L1_ROWS_KERNEL, SMOOTH_L1_ROWS_GRAD_KERNEL, SOFTMAX_CROSS_ENTROPY_KERNEL, SOFTMAX_CROSS_ENTROPY_GRAD_KERNEL, SCAN_KERNEL } from './kernel-names';
