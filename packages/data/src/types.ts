import type { SyntheticOptions } from './synthetic';

/**
 * An 8-bit RGB image in memory: `data` holds height x width x 3 bytes, row-major, channels interleaved
 * (the layout of `tf.browser.fromPixels` without alpha).
 */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/**
 * Where a sample's pixels come from: a path or URL (read by the loader's `loadImage`: in Node,
 * `loadImageFile` from `@detkit/data/node`; in a browser, `fetch`), encoded PNG or JPEG bytes, or
 * decoded pixels.
 */
export type ImageSource = string | Uint8Array | RgbImage;

/**
 * One image and its objects, the in-memory form every reader produces.
 *
 * Boxes are `xyxy` in absolute pixels of the original image with continuous coordinates (no `+1`):
 * COCO's `[x, y, w, h]` becomes `[x, y, x + w, y + h]`; VOC's 1-based inclusive pixel indices become
 * `[xmin - 1, ymin - 1, xmax, ymax]` (detectron2's conversion). Labels are 0-based class indices into
 * the data set's `classes` (no background class: a model that reserves 0 for background adds 1).
 */
export interface DetectionSample {
  /** Image id: COCO's `image.id`, VOC's file stem, the synthetic set's index. */
  readonly id: number | string;
  /** The pixels, or where to get them. */
  readonly image: ImageSource;
  /** Image width in pixels, as the annotation gives it. */
  readonly width: number;
  /** Image height in pixels. */
  readonly height: number;
  /** Float32Array[N * 4]: N boxes, xyxy, absolute pixels. */
  readonly boxes: Float32Array;
  /** Int32Array[N]: class index of each box, 0-based into `classes`. */
  readonly labels: Int32Array;
  /** Uint8Array[N]: 1 for COCO crowd regions (`iscrowd`), else 0. */
  readonly iscrowd: Uint8Array;
  /** Uint8Array[N]: 1 for VOC objects marked `difficult`, else 0. */
  readonly difficult: Uint8Array;
  /** Float32Array[N]: object area as the file gives it (COCO `area`: segment area); absent otherwise. */
  readonly area?: Float32Array;
}

/** A list of samples with the names of their classes (label i is `classes[i]`). */
export interface DetectionDataset {
  /** Class names; label i names `classes[i]`. */
  readonly classes: readonly string[];
  /** The samples, in file order. */
  readonly samples: readonly DetectionSample[];
}


/**
 * Random access to samples without holding them: `get(i)` makes or loads sample i when asked (the
 * synthetic set renders it; a reader could parse it). Arrays of samples work wherever a source does.
 */
export interface SampleSource {
  /** Number of samples. */
  readonly length: number;
  /** Class names; label i is `classes[i]`. */
  readonly classes: readonly string[];
  /** Sample `index`, 0 <= index < length. */
  get(index: number): DetectionSample | Promise<DetectionSample>;
  /**
   * How a worker thread can make the samples itself (the synthetic set: from its options and the
   * index), so that a worker pool is sent indices, not pixels. Absent: samples are sent.
   */
  readonly spec?: SourceSpec;
}

/**
 * How a worker can make a source's samples itself, instead of being sent them: the synthetic set
 * renders sample i from (options, i). Sources without one send each sample (pixels included).
 */
export type SourceSpec = { readonly kind: 'synthetic'; readonly options: SyntheticOptions };
