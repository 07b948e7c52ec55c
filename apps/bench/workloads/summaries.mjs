// Output summaries that workloads compare with reference.py's (see workloads.mjs's `check`).

/** Sum of a tensor's values (float64 accumulation). */
export async function sumOf(t) {
  const v = await t.data();
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s;
}

/** [sum of an IoU matrix]. */
export const iouCheck = async (iou) => [await sumOf(iou)];

/** Kept count and the sum of kept indices: cheap, order-free and sensitive to which boxes survive. */
export const keepCheck = async (keep) => [keep.size, await sumOf(keep)];
