/**
 * Gives every ground-truth box that overlaps some prior a prior of its own, greedily by IoU, as the
 * original SSD's bipartite matching does (Liu et al. 2016, section 2.2): repeatedly the (box, prior) pair
 * with the highest IoU among unassigned boxes and unclaimed priors (lowest indices on ties) is assigned.
 * When the boxes' best priors are all different (the usual case) this is each box's best prior, as
 * torchvision's `SSDMatcher` picks it; when two boxes share one, the one with the higher IoU keeps it and
 * the other takes its next best among the unclaimed priors. The one implementation behind
 * `@detkit/matchers`' SSD matcher kernel and `@detkit/backends`' WebGPU kernel of it.
 *
 * @param rowMax - Float32 [M]: each box's best IoU over the priors (one image's rows of the IoU matrix).
 * @param rowArg - [M]: the prior of that best IoU (the lowest index on ties).
 * @param n - The number of priors N (the length of a row).
 * @param row - The IoU row [N] of box i; asked for only when two boxes share a best prior.
 * @param assigned - Where to write the result (length M); a new Int32Array by default.
 * @returns `assigned`: the prior of box i at i, -1 when it overlaps no unclaimed prior.
 */
export function assignBestPriors(
  rowMax: ArrayLike<number>,
  rowArg: ArrayLike<number>,
  n: number,
  row: (i: number) => ArrayLike<number>,
  assigned: Int32Array = new Int32Array(rowMax.length),
): Int32Array {
  const m = rowMax.length;
  assigned.fill(-1);
  let conflict = false;
  const seen = new Set<number>();
  for (let i = 0; i < m; i++) {
    if (!((rowMax[i] as number) > 0)) continue;
    if (seen.has(rowArg[i] as number)) conflict = true;
    seen.add(rowArg[i] as number);
  }
  if (!conflict) {
    for (let i = 0; i < m; i++) if ((rowMax[i] as number) > 0) assigned[i] = rowArg[i] as number;
    return assigned;
  }
  const claimed = new Uint8Array(n);
  const best = Float32Array.from(rowMax);
  const arg = Int32Array.from(rowArg);
  const pending = new Uint8Array(m).fill(1);
  for (;;) {
    let pick = -1;
    for (let i = 0; i < m; i++) {
      if (pending[i] && (best[i] as number) > 0 && (pick < 0 || (best[i] as number) > (best[pick] as number))) pick = i;
    }
    if (pick < 0) return assigned;
    const prior = arg[pick] as number;
    assigned[pick] = prior;
    claimed[prior] = 1;
    pending[pick] = 0;
    // Boxes that wanted the same prior look for their best among the unclaimed ones.
    for (let i = 0; i < m; i++) {
      if (!pending[i] || arg[i] !== prior) continue;
      const q = row(i);
      let b = 0;
      let a = -1;
      for (let j = 0; j < n; j++) {
        const v = q[j] as number;
        if (!claimed[j] && v > b) {
          b = v;
          a = j;
        }
      }
      best[i] = b;
      arg[i] = a;
    }
  }
}
