/**
 * The names under which @detkit/boxes registers its kernels with tfjs (tfjs-core's kernel_names.ts idea):
 * declared once here and used by the registrations, the tests and any backend that supplies its own
 * implementation. One rule for every detkit package: `Detkit<Package><Op>`, so a name in `tf.profile`'s
 * `kernelNames` says which package it belongs to.
 */

/** The pairwise IoU family (`boxIou`, `generalizedBoxIou`, `distanceBoxIou`, `completeBoxIou`): boxes1 [N, 4], boxes2 [M, 4] xyxy to float32 [N, M]. */
export const PAIRWISE_IOU_KERNEL = 'DetkitBoxesPairwiseIou';

/** `nms` / `batchedNms`: greedy non-maximum suppression over score-sorted xyxy boxes. */
export const NMS_KERNEL = 'DetkitBoxesNms';

/** `softNms`: linear or Gaussian score decay (Bodla et al. 2017). */
export const SOFT_NMS_KERNEL = 'DetkitBoxesSoftNms';

/** `removeSmallBoxes`: indices of the xyxy boxes whose sides are both at least `minSize`. */
export const REMOVE_SMALL_BOXES_KERNEL = 'DetkitBoxesRemoveSmallBoxes';

/** `encodeBoxes`: targets [N, 4] and anchors [N, 4] xyxy to deltas (dx, dy, dw, dh) [N, 4], float32. */
export const ENCODE_BOXES_KERNEL = 'DetkitBoxesEncode';
