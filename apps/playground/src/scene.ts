// The image the "Look inside" and "Detect" views work on: a built-in synthetic image (@detkit/data), or the
// user's PNG / JPEG (decoded by @detkit/data) with boxes drawn on the page or read from a COCO file.
import { decodeImage, parseCoco, syntheticConfig, syntheticSample, type DetectionSample, type RgbImage } from '@detkit/data';

/** An image with its ground-truth boxes (xyxy, image pixels) and 0-based class labels. */
export interface Scene {
  name: string;
  width: number;
  height: number;
  image: RgbImage;
  boxes: Float32Array;
  labels: Int32Array;
  classes: readonly string[];
}

/** The built-in set's classes ('quick' preset): rectangle, ellipse, triangle, cross. */
export const SYNTHETIC_CLASSES: readonly string[] = syntheticConfig().classes;

/** Image `index` of the built-in synthetic validation split. */
export function syntheticScene(index: number, split: 'train' | 'val' = 'val'): Scene {
  const s = syntheticSample(index, { split });
  return { name: `synthetic ${split} #${index}`, width: s.width, height: s.height, image: s.image as RgbImage, boxes: s.boxes, labels: s.labels, classes: SYNTHETIC_CLASSES };
}

/** A PNG or JPEG file, without boxes (draw them, or add a COCO file). */
export async function fileScene(file: File, classes: readonly string[] = SYNTHETIC_CLASSES): Promise<Scene> {
  const image = decodeImage(new Uint8Array(await file.arrayBuffer()), file.name);
  return { name: file.name, width: image.width, height: image.height, image, boxes: new Float32Array(0), labels: new Int32Array(0), classes };
}

/**
 * The boxes of `scene` from a COCO instances file: the image whose file_name ends with the scene's name,
 * or the only image of the file. Throws naming what did not match.
 */
export function withCocoBoxes(scene: Scene, cocoText: string): Scene {
  const coco = parseCoco(cocoText);
  const base = (p: string) => p.split(/[\\/]/).pop() ?? p;
  const sample = coco.samples.find((s) => typeof s.image === 'string' && base(s.image) === base(scene.name)) ?? (coco.samples.length === 1 ? coco.samples[0] : undefined);
  if (sample === undefined) throw new Error(`the COCO file has no image named ${scene.name} (it lists ${coco.samples.length} images)`);
  if (sample.width !== scene.width || sample.height !== scene.height) {
    throw new Error(`the COCO file says ${base(String(sample.image))} is ${sample.width} x ${sample.height}, the image is ${scene.width} x ${scene.height}`);
  }
  return { ...scene, boxes: sample.boxes, labels: sample.labels, classes: coco.classes };
}

/** The scene with one more box. */
export function withBox(scene: Scene, box: readonly [number, number, number, number], label: number): Scene {
  const boxes = new Float32Array(scene.boxes.length + 4);
  boxes.set(scene.boxes);
  boxes.set(box, scene.boxes.length);
  const labels = new Int32Array(scene.labels.length + 1);
  labels.set(scene.labels);
  labels[scene.labels.length] = label;
  return { ...scene, boxes, labels };
}

/** The scene without boxes. */
export function withoutBoxes(scene: Scene): Scene {
  return { ...scene, boxes: new Float32Array(0), labels: new Int32Array(0) };
}

/**
 * A training set from the user's files: a COCO instances file and the images it names (matched by file
 * name), decoded by @detkit/data. Images the file names but the user did not give are left out.
 */
export async function cocoSamples(images: readonly File[], cocoText: string): Promise<{ samples: DetectionSample[]; classes: string[]; missing: number }> {
  const coco = parseCoco(cocoText);
  const base = (p: string) => p.split(/[\\/]/).pop() ?? p;
  const byName = new Map(images.map((f) => [f.name, f]));
  const samples: DetectionSample[] = [];
  let missing = 0;
  for (const s of coco.samples) {
    const file = byName.get(base(String(s.image)));
    if (file === undefined) {
      missing++;
      continue;
    }
    const image = decodeImage(new Uint8Array(await file.arrayBuffer()), file.name);
    samples.push({ ...s, image, width: image.width, height: image.height });
  }
  if (samples.length === 0) throw new Error(`none of the ${coco.samples.length} images the COCO file lists was among the chosen files`);
  return { samples, classes: [...coco.classes], missing };
}
