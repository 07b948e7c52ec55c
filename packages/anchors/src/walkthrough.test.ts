// The Faster R-CNN walk-through's numbers (/work/shared/seeds/002, "Anchor boxes"): VGG-16 at stride 16 on
// an 800 x 800 image, a 50 x 50 feature map, scales 8, 16, 32 of a 16-pixel base, ratios 0.5, 1, 2,
// centres at ctr = 8 + 16 i. The walk-through reports 22,500 anchors ("#Out: [22500, 4]") of which 8,940
// are inside the image ("#Out: (8940,)"). Its boxes are [y1, x1, y2, x2]; detkit's are [x1, y1, x2, y2].
import { describeEachBackend, expectClose } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { anchorsInsideImage, FASTER_RCNN_VGG16_ANCHORS, generateAnchors } from './index';

const FE_SIZE = 50; // 800 / 16
const SUB_SAMPLE = 16;
const RATIOS = [0.5, 1, 2];
const ANCHOR_SCALES = [8, 16, 32];

/**
 * The walk-through's own loops, in float64, written out independently of the generator: for x, for y (its
 * order), for ratio i, for scale j: h = 16 * scale * sqrt(ratio), w = 16 * scale * sqrt(1 / ratio), centred
 * on (ctr_x, ctr_y) = (16 x + 8, 16 y + 8). Returned in its order, as [y1, x1, y2, x2].
 */
function walkthroughAnchors(): number[][] {
  const anchors: number[][] = [];
  for (let x = 0; x < FE_SIZE; x++) {
    for (let y = 0; y < FE_SIZE; y++) {
      const ctrX = SUB_SAMPLE * (x + 1) - 8;
      const ctrY = SUB_SAMPLE * (y + 1) - 8;
      for (const ratio of RATIOS) {
        for (const scale of ANCHOR_SCALES) {
          const h = SUB_SAMPLE * scale * Math.sqrt(ratio);
          const w = SUB_SAMPLE * scale * Math.sqrt(1 / ratio);
          anchors.push([ctrY - h / 2, ctrX - w / 2, ctrY + h / 2, ctrX + w / 2]);
        }
      }
    }
  }
  return anchors;
}

/** Index in detkit's order (y, x, ratio, scale) of the walk-through's anchor at its index (x, y, ratio, scale). */
function detkitIndex(walkthroughIndex: number): number {
  const a = walkthroughIndex % 9;
  const location = (walkthroughIndex - a) / 9;
  const y = location % FE_SIZE;
  const x = (location - y) / FE_SIZE;
  return (y * FE_SIZE + x) * 9 + a;
}

describeEachBackend('the Faster R-CNN walk-through', () => {
  it('22,500 anchors for 800 x 800 (50 x 50 locations x 9)', () => {
    const anchors = generateAnchors({ ...FASTER_RCNN_VGG16_ANCHORS, featureSize: [FE_SIZE, FE_SIZE] });
    expect(anchors.shape).toEqual([22500, 4]);
    expect(anchors.dtype).toBe('float32');
    anchors.dispose();
  });

  it("the first location's anchors are the walk-through's printed anchor_base", () => {
    // Its output, [y1, x1, y2, x2] at ctr (8, 8), printed as float32 to 8 digits.
    const anchorBase = [
      [-37.254833, -82.50967, 53.254833, 98.50967],
      [-82.50967, -173.01933, 98.50967, 189.01933],
      [-173.01933, -354.03867, 189.01933, 370.03867],
      [-56, -56, 72, 72],
      [-120, -120, 136, 136],
      [-248, -248, 264, 264],
      [-82.50967, -37.254833, 98.50967, 53.254833],
      [-173.01933, -82.50967, 189.01933, 98.50967],
      [-354.03867, -173.01933, 370.03867, 189.01933],
    ];
    const anchors = generateAnchors({ ...FASTER_RCNN_VGG16_ANCHORS, featureSize: [1, 1] });
    expectClose(anchors, anchorBase.map(([y1, x1, y2, x2]) => [x1, y1, x2, y2]), { what: 'anchor_base' });
    anchors.dispose();
  });

  it("every anchor is the walk-through's (its location order is x-major; detkit's is row-major)", () => {
    const anchors = generateAnchors({ ...FASTER_RCNN_VGG16_ANCHORS, featureSize: [FE_SIZE, FE_SIZE] });
    const reference = walkthroughAnchors();
    const reordered = new Array<number[]>(reference.length);
    reference.forEach(([y1, x1, y2, x2], i) => {
      reordered[detkitIndex(i)] = [x1!, y1!, x2!, y2!];
    });
    expectClose(anchors, reordered, { what: 'anchors' });
    anchors.dispose();
  });

  it('8,940 anchors inside the image, the same ones the walk-through keeps', () => {
    const anchors = generateAnchors({ ...FASTER_RCNN_VGG16_ANCHORS, featureSize: [FE_SIZE, FE_SIZE] });
    const inside = anchorsInsideImage(anchors, [800, 800]);
    expect(inside.dtype).toBe('int32');
    // Cross-check by a direct loop over the walk-through's float64 anchors (its np.where condition).
    const expected: number[] = [];
    walkthroughAnchors().forEach(([y1, x1, y2, x2], i) => {
      if (y1! >= 0 && x1! >= 0 && y2! <= 800 && x2! <= 800) expected.push(detkitIndex(i));
    });
    expected.sort((a, b) => a - b);
    expect(expected).toHaveLength(8940); // the walk-through's "#Out: (8940,)"
    expect(Array.from(inside.dataSync())).toEqual(expected);
    anchors.dispose();
    inside.dispose();
  });

  it("torchvision's convention on the same image: the same 22,500 anchors, shifted and rounded", () => {
    // offset 0 (centres at 16 i) and rounded base anchors: 9,321 inside, counted by the loop below.
    const anchors = generateAnchors({ stride: 16, sizes: [128, 256, 512], featureSize: [FE_SIZE, FE_SIZE] });
    expect(anchors.shape).toEqual([22500, 4]);
    const values = anchors.dataSync();
    let count = 0;
    for (let y = 0; y < FE_SIZE; y++) {
      for (let x = 0; x < FE_SIZE; x++) {
        for (const ratio of RATIOS) {
          for (const size of [128, 256, 512]) {
            // torchvision rounds the half sizes: 128 * sqrt(2) / 2 = 90.51 -> 91, 128 / sqrt(2) / 2 = 45.25 -> 45.
            const hw = Math.round(size / Math.sqrt(ratio) / 2);
            const hh = Math.round(size * Math.sqrt(ratio) / 2);
            if (16 * x - hw >= 0 && 16 * y - hh >= 0 && 16 * x + hw <= 800 && 16 * y + hh <= 800) count++;
          }
        }
      }
    }
    expect(count).toBe(9321);
    expect(anchorsInsideImage(anchors, [800, 800]).shape).toEqual([count]);
    expect(Array.from(values.slice(0, 4))).toEqual([-91, -45, 91, 45]);
    anchors.dispose();
  });
});
