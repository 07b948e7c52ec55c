/**
 * The names under which @detkit/heads registers its kernels with tfjs (tfjs-core's kernel_names.ts idea):
 * declared once here and used by the registrations, the tests and any backend that supplies its own
 * implementation. One rule for every detkit package: `Detkit<Package><Op>`, so a name in `tf.profile`'s
 * `kernelNames` says which package it belongs to.
 */

/** `roiAlign` forward: NHWC features and xyxy boxes to pooled features [K, PH, PW, C]. */
export const ROI_ALIGN_KERNEL = 'DetkitHeadsRoiAlign';

/** `roiAlign` backward: the gradient of the pooled features to the feature map. */
export const ROI_ALIGN_GRAD_KERNEL = 'DetkitHeadsRoiAlignGrad';

/** `roiPool` forward: NHWC features and xyxy boxes to max-pooled features and their argmax. */
export const ROI_POOL_KERNEL = 'DetkitHeadsRoiPool';

/** `roiPool` backward: the gradient routed through the argmax to the feature map. */
export const ROI_POOL_GRAD_KERNEL = 'DetkitHeadsRoiPoolGrad';

/** The proposal layer's per-level top-N, decode, clip and size / score filters, before NMS. */
export const PROPOSAL_CANDIDATES_KERNEL = 'DetkitHeadsProposalCandidates';

/** `postprocessDetections`' per-class score threshold, top-k, decode, clip and size filter, before NMS. */
export const DETECTION_CANDIDATES_KERNEL = 'DetkitHeadsDetectionCandidates';
