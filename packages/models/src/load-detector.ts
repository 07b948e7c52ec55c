/**
 * Detection in one call: `loadDetector(source)` reads a saved detector (a folder in Node, a URL, a tf.io
 * handler or artifacts) and `detector.detect(image)` returns its boxes in the image's own pixels. The image
 * goes through `@detkit/data`'s loader exactly as the reference trainer's `detkit-detect` feeds it
 * (letterbox to the detector's input size, ImageNet normalisation), and the boxes come back through
 * `boxesToOriginal`: the same numbers as `detkit-detect`.
 */
import type * as NodeFs from 'node:fs/promises';
import type * as NodePath from 'node:path';
import type * as NodeUrl from 'node:url';
import { InvalidArgumentError, integerOption, numberOption, tf } from '@detkit/core';
import { boxesToOriginal, createLoader, decodeImage, fetchImage, type DetectionSample, type RgbImage } from '@detkit/data';
import { detectorTopology, loadDetector as loadDetectorModel, type CreateDetectorOptions } from './detector-weights';
import type { FasterRcnn } from './faster-rcnn';
import { detectorFormatVersion } from './format-version';
import type { Ssd } from './ssd';

/** One detection, in the pixels of the image given to {@link ImageDetector.detect}. */
export interface Detection {
  /** `[x1, y1, x2, y2]` (xyxy), absolute pixels of the original image, continuous coordinates, clipped to it. */
  box: [number, number, number, number];
  /** Class probability, in (scoreThreshold, 1]. */
  score: number;
  /** 0-based class index (the training data set's; no background class). */
  label: number;
  /** `classes[label]` of the saved model (its `userDefinedMetadata.classes`), else `String(label)`. */
  className: string;
}

/**
 * What {@link ImageDetector.detect} takes: a file path (Node), encoded PNG or JPEG bytes (`Uint8Array`,
 * `ArrayBuffer`), a URL string in browsers, `ImageData`, an `HTMLImageElement`, `HTMLCanvasElement`,
 * `HTMLVideoElement`, `ImageBitmap` or `OffscreenCanvas` (browsers and workers), or a `tf.Tensor3D`
 * `[H, W, 3]` (or `[H, W, 4]`, alpha ignored) of pixel values in [0, 255], as `tf.browser.fromPixels` makes
 * (rounded to 8 bits: the loader works on 8-bit images), or `@detkit/data`'s decoded `RgbImage`.
 */
export type DetectorImage =
  | string
  | Uint8Array
  | ArrayBuffer
  | tf.Tensor3D
  | RgbImage
  | ImageDataLike
  | CanvasImageSourceLike;

/** `ImageData` or anything shaped like it: RGBA bytes, `width * height * 4` of them. */
export interface ImageDataLike {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray | Uint8Array;
}

/** What a 2D canvas can draw: `HTMLImageElement`, `HTMLCanvasElement`, `HTMLVideoElement`, `ImageBitmap`, `OffscreenCanvas`. */
export type CanvasImageSourceLike = { readonly width: number; readonly height: number } & object;

/** Options of {@link ImageDetector.detect}. */
export interface DetectImageOptions {
  /** Detections need a score above this, in [0, 1]. Default: the detector's (`config.postprocess.scoreThreshold`). */
  scoreThreshold?: number;
  /** At most this many detections per image (the highest scores), an integer >= 1. Default: the detector's. */
  maxDetections?: number;
}

/** Options of {@link loadDetector}. */
export interface LoadDetectorOptions extends CreateDetectorOptions {
  /** Class names (label i is `classes[i]`); default the saved model's `userDefinedMetadata.classes`. */
  classes?: readonly string[];
}

/** A loaded detector with one-call detection. */
export interface ImageDetector {
  /** The underlying SSD or Faster R-CNN (batched tensor API: `detect(images4D)`, `config`, `variables`). */
  readonly model: Ssd | FasterRcnn;
  /** Class names, label i is `classes[i]` (empty when the model carries none and none were given). */
  readonly classes: readonly string[];
  /** The saved file's format version (1 for files without one). */
  readonly formatVersion: number;
  /** The model's input size `[height, width]`: images are letterboxed to it. */
  readonly inputSize: readonly [number, number];
  /**
   * The detections of one image, by descending score. Leaves no tensor behind (a `tf.Tensor3D` given is
   * not disposed).
   * @throws BackendUnavailableError when the backend is `webgl` and the browser lost its WebGL context
   *   (the results would be zeros): reload the page or the backend, then the detector.
   */
  detect(image: DetectorImage, options?: DetectImageOptions): Promise<Detection[]>;
  /** {@link detect} for each image, in order (run one at a time, so each gets exactly `detect`'s numbers). */
  detectBatch(images: readonly DetectorImage[], options?: DetectImageOptions): Promise<Detection[][]>;
  /** Frees the model's weights; the detector is unusable afterwards. */
  dispose(): void;
}

/** Where {@link loadDetector} reads a detector from. */
export type DetectorSource = string | URL | tf.io.IOHandler | tf.io.ModelArtifacts;

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/**
 * Node built-ins by specifiers held in variables, imported only in Node: browser bundlers leave a dynamic
 * import of a variable alone, so a browser bundle of @detkit/models carries no file-system code.
 */
const NODE_FS = 'node:fs/promises';
const NODE_PATH = 'node:path';
const NODE_URL = 'node:url';
async function nodeModules(): Promise<{ fs: typeof NodeFs; path: typeof NodePath; url: typeof NodeUrl }> {
  const [fs, path, url] = await Promise.all([import(/* @vite-ignore */ NODE_FS), import(/* @vite-ignore */ NODE_PATH), import(/* @vite-ignore */ NODE_URL)]);
  return { fs, path, url };
}

/** `scheme://...`: a URL rather than a file path. */
const URL_PATTERN = /^[a-z][a-z0-9+.-]*:\/\//i;

/** A string is a file path in Node unless it is a URL (`http://`, `https://`, `file://`, ...); in browsers it is a URL. */
function isFilePath(s: string): boolean {
  return isNode() && (!URL_PATTERN.test(s) || s.toLowerCase().startsWith('file://'));
}

async function readFileOrThrow(op: string, argument: string, file: string): Promise<Uint8Array> {
  const { fs } = await nodeModules();
  try {
    return new Uint8Array(await fs.readFile(file));
  } catch (cause) {
    throw new InvalidArgumentError(op, argument, `cannot be read: ${file} (${(cause as { code?: string }).code ?? String(cause)})`);
  }
}

async function exists(fs: typeof NodeFs, file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

/** The model.json of a folder (or of its model/ subfolder, as in a reference-trainer run folder) (or the file itself when `location` names a .json file), read with its weight files (Node). */
async function readModelFolder(location: string): Promise<tf.io.ModelArtifacts> {
  const op = 'loadDetector';
  const { fs, path, url } = await nodeModules();
  const target = location.toLowerCase().startsWith('file://') ? url.fileURLToPath(location) : location;
  let jsonFile = target;
  try {
    if ((await fs.stat(target)).isDirectory()) {
      jsonFile = path.join(target, 'model.json');
      // A reference-trainer run folder keeps its final model in model/.
      const inRun = path.join(target, 'model', 'model.json');
      if (!(await exists(fs, jsonFile)) && (await exists(fs, inRun))) jsonFile = inRun;
    }
  } catch (cause) {
    throw new InvalidArgumentError(op, 'source', `cannot be read: ${target} (${(cause as { code?: string }).code ?? String(cause)})`);
  }
  const text = new TextDecoder().decode(await readFileOrThrow(op, 'source', jsonFile));
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(text) as tf.io.ModelJSON;
  } catch {
    throw new InvalidArgumentError(op, 'source', `is not JSON: ${jsonFile}`);
  }
  if (json === null || typeof json !== 'object' || !Array.isArray(json.weightsManifest)) {
    throw new InvalidArgumentError(op, 'source', `is not a tfjs model.json (no weightsManifest): ${jsonFile}`);
  }
  const dir = path.dirname(jsonFile);
  return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
    const specs: tf.io.WeightsManifestEntry[] = [];
    const buffers: Uint8Array[] = [];
    for (const group of manifest) {
      for (const p of group.paths) {
        // Weight files live beside model.json, as tfjs writes them; nothing outside the folder is read.
        if (typeof p !== 'string' || path.basename(p) !== p) throw new InvalidArgumentError(op, 'source', `names a weight file outside its folder: ${JSON.stringify(p)} in ${jsonFile}`);
        buffers.push(await readFileOrThrow(op, 'source', path.join(dir, p)));
      }
      specs.push(...group.weights);
    }
    const total = buffers.reduce((n, b) => n + b.byteLength, 0);
    const data = new Uint8Array(total);
    let offset = 0;
    for (const b of buffers) {
      data.set(b, offset);
      offset += b.byteLength;
    }
    return [specs, data.buffer];
  });
}

async function artifactsOf(source: DetectorSource): Promise<tf.io.ModelArtifacts> {
  const op = 'loadDetector';
  if (typeof source === 'string' || source instanceof URL) {
    const s = String(source);
    if (s.length === 0) throw new InvalidArgumentError(op, 'source', 'is an empty string');
    if (isFilePath(s)) return readModelFolder(s);
    // A folder URL means its model.json, as a folder path does.
    const jsonUrl = /\.json([?#].*)?$/i.test(s) ? s : `${s.replace(/\/?([?#].*)?$/, '/')}model.json`;
    return tf.io.http(jsonUrl).load!();
  }
  if (source === null || typeof source !== 'object') {
    throw new InvalidArgumentError(op, 'source', 'must be a folder path (Node), a URL, a tf.io IOHandler or ModelArtifacts');
  }
  if (typeof (source as tf.io.IOHandler).load === 'function') return (source as tf.io.IOHandler).load!();
  if ('modelTopology' in source || 'weightSpecs' in source) return source as tf.io.ModelArtifacts;
  throw new InvalidArgumentError(op, 'source', 'must be a folder path (Node), a URL, a tf.io IOHandler with load() or ModelArtifacts');
}

function classesOf(artifacts: tf.io.ModelArtifacts): string[] {
  const classes = (artifacts.userDefinedMetadata as { classes?: unknown } | undefined)?.classes;
  return Array.isArray(classes) && classes.every((c) => typeof c === 'string') ? [...(classes as string[])] : [];
}

function rgbaToRgb(rgba: ArrayLike<number>, width: number, height: number): RgbImage {
  const n = width * height;
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    data[3 * i] = rgba[4 * i] as number;
    data[3 * i + 1] = rgba[4 * i + 1] as number;
    data[3 * i + 2] = rgba[4 * i + 2] as number;
  }
  return { width, height, data };
}

function isImageDataLike(x: object): x is ImageDataLike {
  const d = x as Partial<ImageDataLike>;
  return (d.data instanceof Uint8ClampedArray || d.data instanceof Uint8Array) && typeof d.width === 'number' && typeof d.height === 'number' && d.data.length === d.width * d.height * 4;
}

function isRgbImage(x: object): x is RgbImage {
  const d = x as Partial<RgbImage>;
  return d.data instanceof Uint8Array && typeof d.width === 'number' && typeof d.height === 'number' && d.width > 0 && d.height > 0 && d.data.length === d.width * d.height * 3;
}

/** Pixel size of a drawable: an image's natural size, a video's frame size, else width x height. */
function drawableSize(x: CanvasImageSourceLike): [number, number] {
  const s = x as { naturalWidth?: number; naturalHeight?: number; videoWidth?: number; videoHeight?: number; width: number; height: number };
  if (s.naturalWidth) return [s.naturalWidth, s.naturalHeight ?? 0];
  if (s.videoWidth) return [s.videoWidth, s.videoHeight ?? 0];
  return [s.width, s.height];
}

function isDrawable(x: object): boolean {
  const names = ['HTMLImageElement', 'HTMLCanvasElement', 'HTMLVideoElement', 'ImageBitmap', 'OffscreenCanvas'];
  const g = globalThis as unknown as Record<string, (abstract new (...args: never[]) => unknown) | undefined>;
  return names.some((name) => typeof g[name] === 'function' && x instanceof (g[name] as abstract new (...args: never[]) => unknown));
}

/** Draws a browser image source onto a 2D canvas and reads its RGB pixels. */
async function drawnPixels(source: CanvasImageSourceLike): Promise<RgbImage> {
  const op = 'detect';
  const img = source as { complete?: boolean; decode?: () => Promise<void> };
  if (img.complete === false && typeof img.decode === 'function') await img.decode();
  const [width, height] = drawableSize(source);
  if (!(width > 0 && height > 0)) throw new InvalidArgumentError(op, 'image', `has no pixels (${width} x ${height}); is the image loaded?`);
  const canvas: { getContext(type: '2d'): unknown } =
    typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(width, height) : Object.assign(document.createElement('canvas'), { width, height });
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D | null;
  if (ctx === null) throw new InvalidArgumentError(op, 'image', 'cannot be drawn: no 2D canvas context in this environment');
  ctx.drawImage(source as CanvasImageSource, 0, 0);
  return rgbaToRgb(ctx.getImageData(0, 0, width, height).data, width, height);
}

async function tensorPixels(t: tf.Tensor): Promise<RgbImage> {
  const op = 'detect';
  if (t.isDisposed) throw new InvalidArgumentError(op, 'image', 'is a disposed tensor');
  if (t.rank !== 3 || (t.shape[2] !== 3 && t.shape[2] !== 4)) {
    throw new InvalidArgumentError(op, 'image', `must be a Tensor3D [H, W, 3] (or [H, W, 4]), got shape [${t.shape.join(', ')}]`);
  }
  const [height, width, channels] = t.shape as [number, number, number];
  if (!(height > 0 && width > 0)) throw new InvalidArgumentError(op, 'image', `has no pixels (shape [${t.shape.join(', ')}])`);
  const values = await t.data();
  const data = new Uint8Array(height * width * 3);
  for (let i = 0, n = height * width; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const v = values[channels * i + c] as number;
      if (!Number.isFinite(v)) throw new InvalidArgumentError(op, 'image', `has a non-finite pixel value (${v}) at pixel ${i}`);
      data[3 * i + c] = Math.round(Math.min(255, Math.max(0, v)));
    }
  }
  return { width, height, data };
}

/** Any {@link DetectorImage} as 8-bit RGB pixels. */
async function pixelsOf(image: DetectorImage): Promise<{ image: RgbImage; id: string }> {
  const op = 'detect';
  if (typeof image === 'string') {
    if (image.length === 0) throw new InvalidArgumentError(op, 'image', 'is an empty string');
    if (!isFilePath(image)) return { image: await fetchImage(image), id: image };
    const { url } = await nodeModules();
    const file = image.toLowerCase().startsWith('file://') ? url.fileURLToPath(image) : image;
    return { image: decodeImage(await readFileOrThrow(op, 'image', file), file), id: file };
  }
  if (image instanceof Uint8Array) return { image: decodeImage(image), id: '<bytes>' };
  if (image instanceof ArrayBuffer) return { image: decodeImage(new Uint8Array(image)), id: '<bytes>' };
  if (image instanceof tf.Tensor) return { image: await tensorPixels(image), id: '<tensor>' };
  if (image !== null && typeof image === 'object') {
    if (isRgbImage(image)) return { image, id: '<pixels>' };
    if (isImageDataLike(image)) return { image: rgbaToRgb(image.data, image.width, image.height), id: '<ImageData>' };
    if (isDrawable(image)) return { image: await drawnPixels(image), id: '<image>' };
  }
  throw new InvalidArgumentError(
    op,
    'image',
    'must be a file path (Node), a URL (browsers), PNG / JPEG bytes, RGB pixels, ImageData, an HTMLImageElement, HTMLCanvasElement, HTMLVideoElement, ImageBitmap, OffscreenCanvas or a tf.Tensor3D',
  );
}

function checkOptions(options: DetectImageOptions): void {
  const op = 'detect';
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object');
  const { scoreThreshold: t, maxDetections: m } = options;
  if (t !== undefined) numberOption(op, 'scoreThreshold', t, { min: 0, max: 1 });
  if (m !== undefined) integerOption(op, 'maxDetections', m, { min: 1 });
}

/**
 * Loads a detector saved by `saveDetector` (or the reference trainer) for one-call detection.
 *
 * ```ts
 * const detector = await loadDetector('runs/latest/model');          // Node: a folder holding model.json
 * const detector = await loadDetector('https://example.com/model/'); // a URL (its model.json)
 * const detector = await loadDetector(tf.io.browserFiles([json, weights]));
 * const found = await detector.detect('photo.jpg', { scoreThreshold: 0.5 });
 * // [{ box: [x1, y1, x2, y2], score, label, className }, ...] in photo.jpg's pixels
 * detector.dispose();
 * ```
 *
 * @param source - A folder path (holding model.json, or a reference-trainer run folder holding model/model.json)
 *   or a model.json path (Node; `file://` URLs too), an `http(s)` URL of a
 *   folder or model.json (`tf.io.http`), any `tf.io` IOHandler with `load()`, or `ModelArtifacts`.
 * @throws InvalidArgumentError naming `source` when it cannot be read or holds no detkit detector;
 *   {@link UnsupportedFormatVersionError} when it was saved in a newer (or unknown) format version.
 */
export async function loadDetector(source: DetectorSource, options: LoadDetectorOptions = {}): Promise<ImageDetector> {
  // Without a backend chosen yet (no setupBackend / useBackend / tf.setBackend), initialise tfjs's best
  // registered one (in Node: wasm, else cpu), as a first tensor op would, but asynchronously.
  await tf.ready();
  const artifacts = await artifactsOf(source);
  const formatVersion = detectorFormatVersion('loadDetector', detectorTopology(artifacts));
  const { classes: given, ...createOptions } = options;
  const classes = given !== undefined ? [...given] : classesOf(artifacts);
  const model = await loadDetectorModel(artifacts, createOptions);
  const [h, w] = model.config.imageSize as readonly [number, number];
  let disposed = false;

  async function detectOne(image: DetectorImage, opts: DetectImageOptions): Promise<Detection[]> {
    const { image: rgb, id } = await pixelsOf(image);
    // The trainer's detkit-detect path (apps/trainer/src/run-detect.ts): a one-sample loader letterboxes and
    // normalises the image, the model detects in input pixels, boxesToOriginal maps back.
    const sample: DetectionSample = {
      id,
      image: rgb,
      width: rgb.width,
      height: rgb.height,
      boxes: new Float32Array(0),
      labels: new Int32Array(0),
      iscrowd: new Uint8Array(0),
      difficult: new Uint8Array(0),
    };
    const loader = createLoader({ source: [sample], imageSize: [h, w], batchSize: 1, shuffle: false });
    const out: Detection[] = [];
    for await (const batch of loader.epoch(0)) {
      try {
        const [found] = model.detect(batch.images, {
          ...(opts.scoreThreshold !== undefined ? { scoreThreshold: opts.scoreThreshold } : {}),
          ...(opts.maxDetections !== undefined ? { detectionsPerImage: opts.maxDetections } : {}),
        });
        const boxes = boxesToOriginal(found!.boxes, batch.meta[0]!);
        for (let i = 0; i < found!.scores.length; i++) {
          const label = found!.labels[i]!;
          out.push({
            box: [boxes[4 * i]!, boxes[4 * i + 1]!, boxes[4 * i + 2]!, boxes[4 * i + 3]!],
            score: found!.scores[i]!,
            label,
            className: classes[label] ?? String(label),
          });
        }
      } finally {
        batch.dispose();
      }
    }
    return out;
  }

  function checkAlive(): void {
    if (disposed) throw new InvalidArgumentError('detect', 'detector', 'was disposed');
  }

  return {
    model,
    classes,
    formatVersion,
    inputSize: [h, w],
    async detect(image, opts = {}) {
      checkAlive();
      checkOptions(opts);
      return detectOne(image, opts);
    },
    async detectBatch(images, opts = {}) {
      checkAlive();
      checkOptions(opts);
      if (!Array.isArray(images)) throw new InvalidArgumentError('detectBatch', 'images', 'must be an array of images');
      const results: Detection[][] = [];
      for (const image of images) results.push(await detectOne(image, opts));
      return results;
    },
    dispose() {
      if (!disposed) model.dispose();
      disposed = true;
    },
  };
}
