/**
 * The names under which @detkit/matchers registers its kernels with tfjs (tfjs-core's kernel_names.ts idea):
 * declared once here and used by the registrations, the tests and any backend that supplies its own
 * implementation. One rule for every detkit package: `Detkit<Package><Op>`, so a name in `tf.profile`'s
 * `kernelNames` says which package it belongs to.
 */

/** `createMaxIouMatcher`'s matcher: an IoU matrix [M, N] to matches and labels [N] (thresholds, low-quality rule). */
export const MAX_IOU_MATCH_KERNEL = 'DetkitMatchersMaxIou';

/** `createSsdMatcher`'s matcher: an IoU matrix [M, N] to matches and labels [N] (SSD's threshold plus best prior per box). */
export const SSD_MATCH_KERNEL = 'DetkitMatchersSsd';
