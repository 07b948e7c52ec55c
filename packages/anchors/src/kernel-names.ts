/**
 * The names under which @detkit/anchors registers its kernels with tfjs (tfjs-core's kernel_names.ts idea):
 * declared once here and used by the registrations, the tests and any backend that supplies its own
 * implementation. One rule for every detkit package: `Detkit<Package><Op>`, so a name in `tf.profile`'s
 * `kernelNames` says which package it belongs to.
 */

/** `anchorsInsideImage`: indices of the xyxy anchors inside the image, with `allowedBorder` pixels of slack. */
export const ANCHORS_INSIDE_IMAGE_KERNEL = 'DetkitAnchorsInsideImage';
