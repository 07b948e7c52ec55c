/**
 * The names under which @detkit/samplers registers its kernels with tfjs (tfjs-core's kernel_names.ts idea):
 * declared once here and used by the registrations, the tests and any backend that supplies its own
 * implementation. One rule for every detkit package: `Detkit<Package><Op>`, so a name in `tf.profile`'s
 * `kernelNames` says which package it belongs to.
 */

/** `sampleBalanced`: labels [N] to the sampled labels [N] and kept indices (a seeded partial Fisher-Yates shuffle). */
export const BALANCED_SAMPLE_KERNEL = 'DetkitSamplersBalanced';

/** `sampleOhem`: the hardest positives and negatives by loss. */
export const OHEM_KERNEL = 'DetkitSamplersOhem';

/** `mineHardNegatives`: per row, the negatives with the largest loss (SSD's 3:1). */
export const MINE_HARD_NEGATIVES_KERNEL = 'DetkitSamplersMineHardNegatives';

/** The target builders' scatter of rows back to every anchor (`fill` elsewhere). */
export const SCATTER_ROWS_KERNEL = 'DetkitSamplersScatterRows';

/** The target builders' gather of each element's matched ground-truth box and of the positives. */
export const GATHER_MATCHED_KERNEL = 'DetkitSamplersGatherMatched';

/** `buildRoiTargets`' gather of the sampled RoIs, their matches, classes and matched boxes. */
export const GATHER_SAMPLED_KERNEL = 'DetkitSamplersGatherSampled';

/** The target builders' class label per element: the matched box's class, 0 (background) elsewhere. */
export const MATCHED_CLASSES_KERNEL = 'DetkitSamplersMatchedClasses';
