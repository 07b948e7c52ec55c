// The "Detect" view: a detector trained in the page, or one written by the CLI (`detkit-train`'s model/
// folder, from a URL or dropped as model.json + weights.bin), on an image. @detkit/models' loadDetector
// gives a one-call detect(image) that letterboxes and maps boxes back as `detkit-detect` does.
import { tf } from '@detkit/core';
import { loadDetector, type ImageDetector } from '@detkit/models';
import { $ } from './dom';
import { drawDetections, imageCanvas, inputContext } from './draw';
import { SYNTHETIC_CLASSES, fileScene, syntheticScene, type Scene } from './scene';
import type { ExportedModel } from './train-protocol';

/** One detection as detkit-detect writes it to detections.json. */
export interface Detection {
  box: [number, number, number, number];
  score: number;
  label: number;
  class: string;
}

export interface DetectView {
  useModel(model: ExportedModel, name: string): Promise<void>;
  /** Runs the loaded detector on the current image; the detections in original image pixels. */
  detect(): Promise<Detection[]>;
  last(): Detection[];
}

const CANVAS_PX = 640;

export function mountDetect(root: HTMLElement, report: (d: Detection[]) => void): DetectView {
  root.innerHTML = `
  <div class="controls" role="group" aria-label="Model and image">
    <fieldset>
      <legend>Model</legend>
      <p class="status" id="dt-model">No model loaded: train one (Train, then "Use in Detect"), or load one written by <code>detkit-train</code>.</p>
      <label>model.json URL <input id="dt-url" type="url" placeholder="https://…/runs/latest/model/model.json"></label>
      <button id="dt-load-url" type="button">Load URL</button>
      <label>Or its files (model.json + weights.bin) <input id="dt-files" type="file" multiple accept=".json,.bin"></label>
    </fieldset>
    <fieldset>
      <legend>Image</legend>
      <label>Built-in validation image <input id="dt-synthetic" type="number" min="0" max="499" value="0" inputmode="numeric"></label>
      <label>Your image <input id="dt-image" type="file" accept="image/png,image/jpeg"></label>
      <label class="slider">Minimum score <output id="dt-score-val">0.3</output><input id="dt-score" type="range" min="0.01" max="0.99" step="0.01" value="0.3"></label>
      <button id="dt-run" type="button" class="primary">Detect</button>
      <p class="error" id="dt-error" role="alert"></p>
    </fieldset>
  </div>
  <div class="cards">
    <figure class="card wide"><figcaption><h3>Detections</h3><p>Each box the detector keeps above the minimum score, in its class colour with the class and score, on the original image.</p></figcaption><canvas id="dt-canvas" aria-label="Detections"></canvas><div class="legend" id="dt-list"></div></figure>
  </div>`;

  const canvas = $<HTMLCanvasElement>(root, '#dt-canvas');
  canvas.width = CANVAS_PX;
  canvas.height = CANVAS_PX;
  const errorLine = $(root, '#dt-error');
  const modelLine = $(root, '#dt-model');
  let detector: ImageDetector | undefined;
  let classes: readonly string[] = SYNTHETIC_CLASSES;
  let scene: Scene = syntheticScene(0);
  let detections: Detection[] = [];

  function drawScene(): void {
    const side = Math.max(scene.width, scene.height);
    const ctx = inputContext(canvas, side);
    ctx.drawImage(imageCanvas(scene.image), 0, 0);
    const boxes = new Float32Array(detections.length * 4);
    detections.forEach((d, i) => boxes.set(d.box, 4 * i));
    drawDetections(ctx, boxes, detections.map((d) => d.score), detections.map((d) => d.label), classes, side / CANVAS_PX);
    const rows = detections
      .slice(0, 12)
      .map((d) => `<tr><td>${d.class}</td><td>${d.score.toFixed(3)}</td><td>${d.box.map((v) => v.toFixed(1)).join(', ')}</td></tr>`)
      .join('');
    $(root, '#dt-list').innerHTML = detector === undefined
      ? ''
      : `<span data-testid="detection-count">${detections.length}</span> detection${detections.length === 1 ? '' : 's'} on ${scene.name} (${scene.width} × ${scene.height} px)${rows ? `<table><thead><tr><th>class</th><th>score</th><th>x1, y1, x2, y2</th></tr></thead><tbody>${rows}</tbody></table>` : ''}`;
  }

  async function setDetector(next: ImageDetector, name: string): Promise<void> {
    detector?.dispose();
    detector = next;
    classes = next.classes.length ? next.classes : Array.from({ length: next.model.config.numClasses }, (_, i) => String(i));
    const [h, w] = next.inputSize;
    modelLine.textContent = `${name}: ${next.model.config.kind}, ${w} × ${h} input, classes ${classes.join(', ')}.`;
    await detect();
  }

  async function detect(): Promise<Detection[]> {
    if (detector === undefined) throw new Error('load a model first');
    const minScore = Number($<HTMLInputElement>(root, '#dt-score').value);
    const found = await detector.detect(scene.image, { scoreThreshold: minScore });
    detections = found.map((d) => ({ box: d.box, score: d.score, label: d.label, class: d.className }));
    drawScene();
    report(detections);
    return detections;
  }

  const guard = (fn: () => Promise<unknown>) => () => {
    errorLine.textContent = '';
    fn().catch((error: unknown) => (errorLine.textContent = String((error as Error)?.message ?? error)));
  };
  $(root, '#dt-run').addEventListener('click', guard(detect));
  $<HTMLInputElement>(root, '#dt-score').addEventListener('input', (e) => {
    $(root, '#dt-score-val').textContent = (e.target as HTMLInputElement).value;
    if (detector) guard(detect)();
  });
  $(root, '#dt-load-url').addEventListener(
    'click',
    guard(async () => {
      const url = $<HTMLInputElement>(root, '#dt-url').value.trim();
      if (!url) throw new Error('give the URL of a model.json');
      await setDetector(await loadDetector(url), url);
    }),
  );
  $<HTMLInputElement>(root, '#dt-files').addEventListener(
    'change',
    guard(async () => {
      const files = Array.from($<HTMLInputElement>(root, '#dt-files').files ?? []);
      const json = files.find((f) => f.name.endsWith('.json'));
      if (!json) throw new Error('choose model.json together with its weights file(s)');
      await setDetector(await loadDetector(tf.io.browserFiles([json, ...files.filter((f) => f !== json)])), json.name);
    }),
  );
  $<HTMLInputElement>(root, '#dt-synthetic').addEventListener(
    'change',
    guard(async () => {
      const i = Number($<HTMLInputElement>(root, '#dt-synthetic').value);
      if (!Number.isInteger(i) || i < 0) return;
      scene = syntheticScene(i);
      detections = [];
      drawScene();
      if (detector) await detect();
    }),
  );
  $<HTMLInputElement>(root, '#dt-image').addEventListener(
    'change',
    guard(async () => {
      const file = $<HTMLInputElement>(root, '#dt-image').files?.[0];
      if (!file) return;
      scene = await fileScene(file);
      detections = [];
      drawScene();
      if (detector) await detect();
    }),
  );
  drawScene();

  return {
    useModel: async (model, name) => setDetector(await loadDetector(model.artifacts, { classes: model.classes }), name),
    detect,
    last: () => detections,
  };
}
