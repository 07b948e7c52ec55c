/**
 * The names under which @detkit/losses registers its kernels with tfjs (tfjs-core's kernel_names.ts idea):
 * declared once here and used by the registrations, the tests and any backend that supplies its own
 * implementation. One rule for every detkit package: `Detkit<Package><Op>`, so a name in `tf.profile`'s
 * `kernelNames` says which package it belongs to.
 */

/** Smooth L1 summed over the last axis, weighted per row (`smoothL1Loss`'s fused path): forward. */
export const SMOOTH_L1_ROWS_KERNEL = 'DetkitLossesSmoothL1Rows';

/** The gradient of {@link SMOOTH_L1_ROWS_KERNEL} with respect to the predictions. */
export const SMOOTH_L1_ROWS_GRAD_KERNEL = 'DetkitLossesSmoothL1RowsGrad';

/** Softmax cross-entropy per row with an ignore index (the classification losses' fused path): forward. */
export const SOFTMAX_CROSS_ENTROPY_KERNEL = 'DetkitLossesSoftmaxCrossEntropy';

/** The gradient of {@link SOFTMAX_CROSS_ENTROPY_KERNEL} with respect to the logits. */
export const SOFTMAX_CROSS_ENTROPY_GRAD_KERNEL = 'DetkitLossesSoftmaxCrossEntropyGrad';

/** The input check's scan: the first non-finite or too large value, or the first label out of range. */
export const SCAN_KERNEL = 'DetkitLossesScan';
