/**
 * The names under which @detkit/torchvision registers its kernels with tfjs (tfjs-core's kernel_names.ts idea):
 * declared once here and used by the registrations, the tests and any backend that supplies its own
 * implementation. One rule for every detkit package: `Detkit<Package><Op>`, so a name in `tf.profile`'s
 * `kernelNames` says which package it belongs to.
 */

/** The RCNN transform's bilinear resize with torch's float64 weights (`F.interpolate`, align_corners=False). */
export const RESIZE_BILINEAR_KERNEL = 'DetkitTorchvisionResizeBilinear';
