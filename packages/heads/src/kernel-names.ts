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

/**
 * The attributes of {@link ROI_ALIGN_KERNEL}: what `roiAlign` passes and any backend's implementation of
 * the kernel reads (@detkit/backends' WGSL one imports this type).
 */
export interface RoiAlignKernelAttrs {
  /** Output bins per box, vertically. */
  pooledH: number;
  /** Output bins per box, horizontally. */
  pooledW: number;
  /** Box coordinates times this are feature-map coordinates (1 / stride). */
  spatialScale: number;
  /** Sampling points per bin side; <= 0 for adaptive (ceil(roi size / bins)). */
  samplingRatio: number;
  /** Whether boxes are shifted by -0.5 cell (torchvision's `aligned=True`). */
  aligned: boolean;
}

/** The attributes of {@link ROI_ALIGN_GRAD_KERNEL}: the forward's, and the feature map's NHWC shape. */
export interface RoiAlignGradKernelAttrs extends RoiAlignKernelAttrs {
  /** `[N, H, W, C]` of the features (the gradient's shape). */
  featureShape: [number, number, number, number];
}

/** `roiPool` forward: NHWC features and xyxy boxes to max-pooled features and their argmax. */
export const ROI_POOL_KERNEL = 'DetkitHeadsRoiPool';

/** `roiPool` backward: the gradient routed through the argmax to the feature map. */
export const ROI_POOL_GRAD_KERNEL = 'DetkitHeadsRoiPoolGrad';

/** The proposal layer's per-level top-N, decode, clip and size / score filters, before NMS. */
export const PROPOSAL_CANDIDATES_KERNEL = 'DetkitHeadsProposalCandidates';

/** `postprocessDetections`' per-class score threshold, top-k, decode, clip and size filter, before NMS. */
export const DETECTION_CANDIDATES_KERNEL = 'DetkitHeadsDetectionCandidates';
