// Conformance cases for @detkit/matchers' max-IoU and SSD matchers (a fused kernel: in place on cpu and wasm, a
// WGSL kernel on webgpu, over a download elsewhere), on IoU matrices made by @detkit/boxes' boxIou.
import { boxIou } from '@detkit/boxes';
import { tf } from '@detkit/core';
import { createMaxIouMatcher, createSsdMatcher, RPN_MATCHER_OPTIONS, ROI_MATCHER_OPTIONS } from '@detkit/matchers';
import type { ConformanceCase } from '../../src/conformance';
import { boxes, values } from './inputs';

const GT = boxes(5, 301);
const ANCHORS = boxes(300, 302, 100, 4, 30);
/** Anchors 0-9 repeat 10-19 exactly: the low-quality rule's ties. */
const TIED = { values: Float32Array.from([...Array.from(ANCHORS.values).slice(0, 40), ...Array.from(ANCHORS.values).slice(0, 40)]), shape: [20, 4] };
/** A ground-truth box far from every anchor (a row of zeros). */
const FAR = values([1000, 1000, 1010, 1010], [1, 4]);

const rpn = createMaxIouMatcher(RPN_MATCHER_OPTIONS);
const roi = createMaxIouMatcher({ ...ROI_MATCHER_OPTIONS, negativeMinIou: 0.1 });
const lowQualityMin = createMaxIouMatcher({ ...RPN_MATCHER_OPTIONS, minLowQualityIou: 0.3 });
const ssd = createSsdMatcher();
const ssdStrict = createSsdMatcher({ threshold: 0.7 });
/** Boxes 0 and 1 are the same box: they want the same best prior (SSD's bipartite conflict). */
const TWINS = { values: Float32Array.from([...Array.from(GT.values).slice(0, 4), ...Array.from(GT.values)]), shape: [6, 4] };
const out = (r: { matches: tf.Tensor; labels: tf.Tensor }) => [r.matches, r.labels];

export const MATCHERS_CASES: ConformanceCase[] = [
  { name: 'matchers/maxIou RPN (low-quality matches)', inputs: [GT, ANCHORS], run: (g, a) => out(rpn(boxIou(g, a))) },
  { name: 'matchers/maxIou RoI heads (negativeMinIou 0.1)', inputs: [GT, ANCHORS], run: (g, a) => out(roi(boxIou(g, a))) },
  { name: 'matchers/maxIou minLowQualityIou 0.3', inputs: [GT, ANCHORS], run: (g, a) => out(lowQualityMin(boxIou(g, a))) },
  { name: 'matchers/maxIou tied anchors', inputs: [GT, TIED], run: (g, a) => out(rpn(boxIou(g, a))) },
  { name: 'matchers/maxIou a row of zeros', inputs: [GT, ANCHORS, FAR], run: (g, a, f) => out(rpn(boxIou(tf.concat([g, f]), a))) },
  { name: 'matchers/maxIou only rows of zeros', inputs: [FAR, ANCHORS], run: (f, a) => out(rpn(boxIou(f, a))) },
  { name: 'matchers/maxIou no ground truth', inputs: [values([], [0, 4]), ANCHORS], run: (g, a) => out(rpn(boxIou(g, a))) },
  {
    name: 'matchers/maxIou batched [2, M, N]',
    inputs: [GT, ANCHORS, FAR],
    run: (g, a, f) => out(rpn(tf.stack([boxIou(g, a), boxIou(tf.concat([tf.slice(g, 0, 2), f, f, f]), a)]))),
  },
  { name: 'matchers/ssd threshold 0.5', inputs: [GT, ANCHORS], run: (g, a) => out(ssd(boxIou(g, a))) },
  { name: 'matchers/ssd threshold 0.7 (priors matched below it)', inputs: [GT, ANCHORS], run: (g, a) => out(ssdStrict(boxIou(g, a))) },
  { name: 'matchers/ssd two boxes with the same best prior', inputs: [TWINS, ANCHORS], run: (g, a) => out(ssd(boxIou(g, a))) },
  { name: 'matchers/ssd a box that overlaps nothing', inputs: [GT, ANCHORS, FAR], run: (g, a, f) => out(ssd(boxIou(tf.concat([f, g]), a))) },
  { name: 'matchers/ssd no ground truth', inputs: [values([], [0, 4]), ANCHORS], run: (g, a) => out(ssd(boxIou(g, a))) },
  {
    name: 'matchers/ssd batched [2, M, N] with a conflict',
    inputs: [TWINS, ANCHORS, FAR],
    run: (g, a, f) => out(ssd(tf.stack([boxIou(g, a), boxIou(tf.concat([tf.slice(g, 0, 3), f, f, f]), a)]))),
  },
];
