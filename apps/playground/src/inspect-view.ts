// The "Look inside" view: one scene, the sliders, and six pictures redrawn on every change.
import { SYNTHETIC_CLASSES, fileScene, syntheticScene, withBox, withCocoBoxes, withoutBoxes, type Scene } from './scene';
import { DEFAULT_SETTINGS, FRCNN_SIZE, OUTSIDE, SSD_SIZE, inspect, type InspectResult, type InspectSettings } from './inspect';
import {
  IGNORED,
  LOW_QUALITY,
  NEGATIVE,
  POSITIVE,
  SAMPLED_NEGATIVE,
  drawGroundTruth,
  drawLetterboxed,
  heat,
  hexRgb,
  imageCanvas,
  inputContext,
  paintCells,
  strokeBoxes,
} from './draw';
import { $, numberList } from './dom';

/** What the tests and the README's measurement read. */
export interface InspectState {
  scene: Scene;
  settings: InspectSettings;
  result: InspectResult;
  /** Milliseconds of the last redraw: packages + drawing of every picture. */
  redrawMs: number;
  /** Milliseconds of drawing, per picture. */
  drawMs: Record<string, number>;
}

const CANVAS_PX = 480;

export function mountInspect(root: HTMLElement, report: (state: InspectState) => void): { setScene(scene: Scene): void; redraw(): InspectState } {
  let scene = syntheticScene(0);
  const settings: InspectSettings = { ...DEFAULT_SETTINGS, ratios: [...DEFAULT_SETTINGS.ratios], scales: [...DEFAULT_SETTINGS.scales] };
  let gtIndex = 0;
  let shape = -2; // -1: every anchor shape; -2: not chosen yet (the middle one)

  root.innerHTML = `
  <div class="controls" role="group" aria-label="Image and settings">
    <fieldset>
      <legend>Image</legend>
      <label>Built-in image <input id="in-synthetic" type="number" min="0" max="499" value="0" inputmode="numeric"></label>
      <label>Your image <input id="in-file" type="file" accept="image/png,image/jpeg"></label>
      <label>COCO boxes <input id="in-coco" type="file" accept=".json,application/json"></label>
      <label>Class of drawn boxes <select id="in-class">${SYNTHETIC_CLASSES.map((c, i) => `<option value="${i}">${c}</option>`).join('')}</select></label>
      <button id="in-clear" type="button">Clear boxes</button>
      <p class="hint">Drag on the first picture to draw a box.</p>
    </fieldset>
    <fieldset>
      <legend>Faster R-CNN</legend>
      ${slider('high', 'Positive IoU ≥', 0.05, 1, 0.05, settings.highThreshold)}
      ${slider('low', 'Negative IoU <', 0, 1, 0.05, settings.lowThreshold)}
      <label>Ratios (h / w) <input id="in-ratios" value="${settings.ratios.join(', ')}"></label>
      <label>Scales (× 16 px) <input id="in-scales" value="${settings.scales.join(', ')}"></label>
      <label class="check"><input id="in-inside" type="checkbox"> Drop anchors crossing the border</label>
      ${slider('batch', 'RPN batch', 16, 512, 16, settings.rpnBatchSize)}
      ${slider('fraction', 'Positive fraction', 0.05, 1, 0.05, settings.positiveFraction)}
    </fieldset>
    <fieldset>
      <legend>SSD</legend>
      ${slider('ssd', 'Match IoU ≥', 0.05, 1, 0.05, settings.ssdThreshold)}
      ${slider('negpos', 'Negatives per positive', 1, 10, 1, settings.negPosRatio)}
      <label>Ground-truth box <select id="in-gt"></select></label>
      <label>Anchor shape <select id="in-shape"></select></label>
      <p class="timing" id="inspect-timing" aria-live="polite"></p>
      <p class="error" id="inspect-error" role="alert"></p>
    </fieldset>
  </div>
  <div class="cards">
    ${card('scene', 'Image and boxes', 'The image with its ground-truth boxes; drag on it to add a box of the chosen class.')}
    ${card('anchors', 'Anchors', '')}
    ${card('iou', 'IoU heat map', '')}
    ${card('frcnn', 'Faster R-CNN matcher', '')}
    ${card('ssd', 'SSD matcher', '')}
    ${card('rpn-batch', 'RPN mini-batch (1:1)', '')}
    ${card('hard-neg', 'SSD hard negatives (3:1)', '')}
    ${card('coding', 'Regression targets, decoded back', '')}
  </div>`;

  const canvases = Object.fromEntries(
    ['scene', 'anchors', 'iou', 'frcnn', 'ssd', 'rpn-batch', 'hard-neg', 'coding'].map((id) => {
      const c = $<HTMLCanvasElement>(root, `#cv-${id}`);
      c.width = CANVAS_PX;
      c.height = CANVAS_PX;
      return [id, c];
    }),
  ) as Record<string, HTMLCanvasElement>;
  const caption = (id: string, text: string) => ($(root, `#cap-${id}`).textContent = text);
  const legend = (id: string, html: string) => ($(root, `#lg-${id}`).innerHTML = html);
  const errorLine = $(root, '#inspect-error');

  let state: InspectState | undefined;

  let selectsKey = '';

  /** Rebuilds the box and shape menus when the scene or the anchor shapes changed. */
  function fillSelects(result: InspectResult): void {
    const key = `${scene.name}|${Array.from(scene.labels).join(',')}|${settings.ratios.join(',')}|${settings.scales.join(',')}`;
    if (key === selectsKey) return;
    selectsKey = key;
    const gtSelect = $<HTMLSelectElement>(root, '#in-gt');
    const m = scene.labels.length;
    gtIndex = Math.min(gtIndex, Math.max(0, m - 1));
    gtSelect.innerHTML = m === 0 ? '<option>none</option>' : Array.from(scene.labels, (l, i) => `<option value="${i}">${i}: ${scene.classes[l] ?? l}</option>`).join('');
    gtSelect.value = String(gtIndex);
    const shapeSelect = $<HTMLSelectElement>(root, '#in-shape');
    const options = ['<option value="-1">all shapes</option>'];
    settings.ratios.forEach((r, i) => settings.scales.forEach((s, j) => options.push(`<option value="${i * settings.scales.length + j}">ratio ${r}, ${s * 16} px</option>`)));
    shapeSelect.innerHTML = options.join('');
    if (shape >= result.frcnn.perLocation || shape === -2) shape = middleShape();
    shapeSelect.value = String(shape);
  }

  /** The ratio-1 (or middle) ratio with the middle size: the anchor shape shown until one is chosen. */
  function middleShape(): number {
    const r = settings.ratios.indexOf(1);
    return (r >= 0 ? r : Math.floor(settings.ratios.length / 2)) * settings.scales.length + Math.floor(settings.scales.length / 2);
  }

  function redraw(): InspectState {
    const t0 = performance.now();
    const result = inspect(scene, settings);
    fillSelects(result);
    const drawMs = drawAll(result);
    const redrawMs = performance.now() - t0;
    $(root, '#inspect-timing').textContent = `Redraw ${redrawMs.toFixed(1)} ms (packages ${result.computeMs.toFixed(1)} ms) for ${result.frcnn.count.toLocaleString('en')} anchors and ${result.ssd.count.toLocaleString('en')} default boxes.`;
    state = { scene, settings: { ...settings }, result, redrawMs, drawMs };
    report(state);
    return state;
  }

  function safeRedraw(): void {
    try {
      errorLine.textContent = '';
      redraw();
    } catch (error) {
      errorLine.textContent = String((error as Error)?.message ?? error);
    }
  }

  function drawAll(r: InspectResult): Record<string, number> {
    const times: Record<string, number> = {};
    let t = performance.now();
    const lap = (name: string) => {
      const now = performance.now();
      times[name] = now - t;
      t = now;
    };
    const f = r.frcnn;
    const s = r.ssd;
    const unitF = FRCNN_SIZE / CANVAS_PX;
    const unitS = SSD_SIZE / CANVAS_PX;
    const [fh, fw] = f.featureSize;
    const R = settings.ratios.length;
    const S = settings.scales.length;
    const A = f.perLocation;
    const m = f.gt.length / 4;

    // Image and boxes, in the image's own pixels.
    {
      const c = canvases.scene!;
      const side = Math.max(scene.width, scene.height);
      const ctx = inputContext(c, side);
      ctx.drawImage(imageCanvas(scene.image), 0, 0);
      drawGroundTruth(ctx, scene.boxes, scene.labels, scene.classes, side / CANVAS_PX);
      legend('scene', `${scene.name}: ${scene.width} × ${scene.height} px, ${m} box${m === 1 ? '' : 'es'}.`);
    }
    lap('scene');

    // Anchors of the chosen shape everywhere (faint), every shape at one location (bold).
    {
      const ctx = inputContext(canvases.anchors!, FRCNN_SIZE);
      drawLetterboxed(ctx, scene.image, f.plan, 0.8);
      const which: number[] = [];
      for (let i = 0; i < f.count; i++) if (shape < 0 || i % A === shape) which.push(i);
      strokeBoxes(ctx, f.anchors, 'rgba(120,200,255,0.10)', unitF, which);
      const [cy, cx] = focusCell(f.gt, m > 0 ? gtIndex : -1, fh, fw);
      const at = Array.from({ length: A }, (_, a) => (cy * fw + cx) * A + a).filter((i) => shape < 0 || i % A === shape);
      strokeBoxes(ctx, f.anchors, '#ff9f1c', 2.5 * unitF, at);
      caption('anchors', `The ${f.count.toLocaleString('en')} anchors of a ${fh} × ${fw} stride-16 map on the ${FRCNN_SIZE} × ${FRCNN_SIZE} input (${R} ratios × ${S} sizes per location): faint, every anchor of the chosen shape; orange, those at the location nearest the chosen box's centre.`);
      legend('anchors', `${f.count.toLocaleString('en')} anchors, ${f.used.toLocaleString('en')} used${settings.insideOnly ? ' (inside the image)' : ''}.`);
    }
    lap('anchors');

    // IoU of each anchor with the chosen ground-truth box: per location, the best over the chosen shapes.
    {
      const ctx = inputContext(canvases.iou!, FRCNN_SIZE);
      drawLetterboxed(ctx, scene.image, f.plan, 0.5);
      const rgba = new Uint8ClampedArray(fw * fh * 4);
      let best = 0;
      if (m > 0) {
        const row = f.iou.subarray(gtIndex * f.count, (gtIndex + 1) * f.count);
        for (let cell = 0; cell < fw * fh; cell++) {
          let v = 0;
          for (let a = 0; a < A; a++) if (shape < 0 || a === shape) v = Math.max(v, row[cell * A + a]!);
          best = Math.max(best, v);
          const [cr, cg, cb] = heat(v);
          rgba.set([cr, cg, cb, v > 0 ? 90 + 165 * v : 0], 4 * cell);
        }
      }
      paintCells(ctx, rgba, fw, fh, 0, 0, fw * 16, fh * 16);
      if (m > 0) drawGroundTruth(ctx, f.gt.subarray(4 * gtIndex, 4 * gtIndex + 4), scene.labels.subarray(gtIndex, gtIndex + 1), scene.classes, unitF);
      caption('iou', 'Each cell is one anchor location coloured by its IoU with the chosen ground-truth box (the best of the chosen shapes): dark 0, yellow 1.');
      legend('iou', m > 0 ? `Highest IoU with box ${gtIndex}: ${best.toFixed(3)}.` : 'No ground-truth box.');
    }
    lap('iou');

    // Faster R-CNN labels: every anchor is one pixel of a ratio-by-size block in its cell.
    {
      const ctx = inputContext(canvases.frcnn!, FRCNN_SIZE);
      drawLetterboxed(ctx, scene.image, f.plan, 0.45);
      const w = fw * S;
      const h = fh * R;
      const rgba = new Uint8ClampedArray(w * h * 4);
      // RGBA words (little-endian) per label: 1, 0, -1, -2 (left out), and the highest-IoU rule's gold.
      const word = (hex: string, alpha: number) => {
        const [cr, cg, cb] = hexRgb(hex);
        return ((alpha << 24) | (cb << 16) | (cg << 8) | cr) >>> 0;
      };
      const byLabel = new Map<number, number>([[1, word(POSITIVE, 255)], [0, word(NEGATIVE, 70)], [-1, word(IGNORED, 200)], [OUTSIDE, 0]]);
      const gold = word(LOW_QUALITY, 255);
      const pixels = new Uint32Array(rgba.buffer);
      for (let i = 0; i < f.count; i++) {
        const cell = (i / A) | 0;
        const a = i % A;
        const x = (cell % fw) * S + (a % S);
        const y = ((cell / fw) | 0) * R + ((a / S) | 0);
        pixels[y * w + x] = f.lowQuality[i] ? gold : byLabel.get(f.labels[i]!)!;
      }
      paintCells(ctx, rgba, w, h, 0, 0, fw * 16, fh * 16);
      const pos: number[] = [];
      const lq: number[] = [];
      for (let i = 0; i < f.count; i++) if (f.labels[i] === 1) (f.lowQuality[i] ? lq : pos).push(i);
      strokeBoxes(ctx, f.anchors, POSITIVE, 1.5 * unitF, pos);
      strokeBoxes(ctx, f.anchors, LOW_QUALITY, 2.5 * unitF, lq);
      drawGroundTruth(ctx, f.gt, scene.labels, scene.classes, unitF);
      caption('frcnn', `Every anchor is one small square in its cell (${R} ratios down, ${S} sizes across), coloured by the max-IoU matcher's label; positive anchors are outlined.`);
      legend('frcnn', `${key(POSITIVE, 'positive')} <b data-testid="frcnn-positive">${f.counts.positive}</b> (${key(LOW_QUALITY, 'by the highest-IoU rule')} <b data-testid="frcnn-low-quality">${f.counts.lowQuality}</b>) · ${key(NEGATIVE, 'negative')} <b data-testid="frcnn-negative">${f.counts.negative}</b> · ${key(IGNORED, 'ignored')} <b data-testid="frcnn-ignored">${f.counts.ignored}</b>`);
    }
    lap('frcnn');

    // SSD: positive default boxes, the bipartite ones thick.
    {
      const ctx = inputContext(canvases.ssd!, SSD_SIZE);
      drawLetterboxed(ctx, scene.image, s.plan, 0.6);
      const thr: number[] = [];
      const bip: number[] = [];
      for (let i = 0; i < s.count; i++) if (s.labels[i] === 1) (s.bipartite[i] ? bip : thr).push(i);
      strokeBoxes(ctx, s.priors, POSITIVE, 1.2 * unitS, thr);
      strokeBoxes(ctx, s.priors, LOW_QUALITY, 2.5 * unitS, bip);
      drawGroundTruth(ctx, s.gt, scene.labels, scene.classes, unitS);
      caption('ssd', `SSD300's ${s.count.toLocaleString('en')} default boxes on the ${SSD_SIZE} × ${SSD_SIZE} input: gold, the one each box claims (bipartite matching); green, the others with IoU ≥ ${settings.ssdThreshold}.`);
      legend('ssd', `${key(POSITIVE, 'positive')} <b data-testid="ssd-positive">${s.counts.positive}</b> (${key(LOW_QUALITY, 'bipartite')} <b data-testid="ssd-bipartite">${s.counts.bipartite}</b>) · ${key(NEGATIVE, 'negative')} <b data-testid="ssd-negative">${s.counts.negative}</b>`);
    }
    lap('ssd');

    // RPN 1:1 mini-batch.
    {
      const ctx = inputContext(canvases['rpn-batch']!, FRCNN_SIZE);
      drawLetterboxed(ctx, scene.image, f.plan, 0.6);
      const pos: number[] = [];
      ctx.fillStyle = SAMPLED_NEGATIVE;
      for (let i = 0; i < f.count; i++) {
        if (f.sampled[i] === 1) pos.push(i);
        else if (f.sampled[i] === 0) {
          const cx = (f.anchors[4 * i]! + f.anchors[4 * i + 2]!) / 2;
          const cy = (f.anchors[4 * i + 1]! + f.anchors[4 * i + 3]!) / 2;
          ctx.fillRect(cx - 3 * unitF, cy - 3 * unitF, 6 * unitF, 6 * unitF);
        }
      }
      strokeBoxes(ctx, f.anchors, POSITIVE, 1.5 * unitF, pos);
      caption('rpn-batch', `The ${settings.rpnBatchSize} anchors the balanced sampler picks for one RPN loss (at most ${Math.round(settings.positiveFraction * 100)} % positive, the rest negatives); red squares mark sampled negatives' centres.`);
      legend('rpn-batch', `${key(POSITIVE, 'sampled positives')} <b data-testid="rpn-sampled-positive">${f.sampledCounts.positive}</b> · ${key(SAMPLED_NEGATIVE, 'sampled negatives')} <b data-testid="rpn-sampled-negative">${f.sampledCounts.negative}</b>`);
    }
    lap('rpn-batch');

    // SSD 3:1 hard negatives.
    {
      const ctx = inputContext(canvases['hard-neg']!, SSD_SIZE);
      drawLetterboxed(ctx, scene.image, s.plan, 0.6);
      const pos: number[] = [];
      const neg: number[] = [];
      for (let i = 0; i < s.count; i++) {
        if (s.mined[i]! > 0) pos.push(i);
        else if (s.mined[i] === 0) neg.push(i);
      }
      strokeBoxes(ctx, s.priors, SAMPLED_NEGATIVE, 1 * unitS, neg);
      strokeBoxes(ctx, s.priors, POSITIVE, 1.5 * unitS, pos);
      caption('hard-neg', `Hard-negative mining keeps ${settings.negPosRatio} negatives per positive, those with the highest loss; here the loss stand-in is each default box's best IoU with any box, as an untrained detector errs most near objects.`);
      legend('hard-neg', `${key(POSITIVE, 'positives')} <b>${s.minedCounts.positive}</b> · ${key(SAMPLED_NEGATIVE, 'mined negatives')} <b data-testid="ssd-mined-negative">${s.minedCounts.negative}</b>`);
    }
    lap('hard-neg');

    // Box coding: each sampled positive's (dx, dy, dw, dh), decoded back onto its anchor.
    {
      const ctx = inputContext(canvases.coding!, FRCNN_SIZE);
      drawLetterboxed(ctx, scene.image, f.plan, 0.5);
      const shown = f.coded.slice(0, 40);
      strokeBoxes(ctx, f.anchors, 'rgba(200,200,200,0.8)', unitF, shown.map((c) => c.anchor), [6 * unitF, 4 * unitF]);
      drawGroundTruth(ctx, f.gt, scene.labels, scene.classes, unitF);
      const decoded = new Float32Array(shown.length * 4);
      shown.forEach((c, j) => decoded.set(c.decoded, 4 * j));
      strokeBoxes(ctx, decoded, '#ff4dff', 1.5 * unitF);
      caption('coding', 'Dashed, sampled positive anchors; magenta, their encoded targets (dx, dy, dw, dh) decoded back onto them, which lands on the matched ground-truth box.');
      const rows = shown
        .slice(0, 4)
        .map((c) => `<tr><td>${c.anchor}</td><td>${c.gtIndex}</td><td>${Array.from(c.deltas, (v) => v.toFixed(3)).join(', ')}</td><td>${Array.from(c.decoded, (v) => v.toFixed(1)).join(', ')}</td></tr>`)
        .join('');
      legend('coding', f.coded.length === 0 ? 'No sampled positive.' : `<table><thead><tr><th>anchor</th><th>box</th><th>dx, dy, dw, dh</th><th>decoded x1, y1, x2, y2</th></tr></thead><tbody>${rows}</tbody></table>`);
    }
    lap('coding');
    return times;
  }

  // Controls.
  const onSlider = (id: string, apply: (v: number) => void) => {
    const input = $<HTMLInputElement>(root, `#in-${id}`);
    input.addEventListener('input', () => {
      apply(Number(input.value));
      $(root, `#val-${id}`).textContent = input.value;
      safeRedraw();
    });
  };
  onSlider('high', (v) => (settings.highThreshold = v));
  onSlider('low', (v) => (settings.lowThreshold = v));
  onSlider('batch', (v) => (settings.rpnBatchSize = v));
  onSlider('fraction', (v) => (settings.positiveFraction = v));
  onSlider('ssd', (v) => (settings.ssdThreshold = v));
  onSlider('negpos', (v) => (settings.negPosRatio = v));
  const onList = (id: string, apply: (v: number[]) => void) => {
    const input = $<HTMLInputElement>(root, `#in-${id}`);
    input.addEventListener('change', () => {
      const values = numberList(input.value);
      if (values === null) {
        errorLine.textContent = `${id}: write positive numbers separated by commas`;
        return;
      }
      apply(values);
      safeRedraw();
    });
  };
  onList('ratios', (v) => (settings.ratios = v));
  onList('scales', (v) => (settings.scales = v));
  $<HTMLInputElement>(root, '#in-inside').addEventListener('change', (e) => {
    settings.insideOnly = (e.target as HTMLInputElement).checked;
    safeRedraw();
  });
  $<HTMLSelectElement>(root, '#in-gt').addEventListener('change', (e) => {
    gtIndex = Number((e.target as HTMLSelectElement).value) || 0;
    safeRedraw();
  });
  $<HTMLSelectElement>(root, '#in-shape').addEventListener('change', (e) => {
    shape = Number((e.target as HTMLSelectElement).value);
    safeRedraw();
  });
  $<HTMLInputElement>(root, '#in-synthetic').addEventListener('change', (e) => {
    const i = Number((e.target as HTMLInputElement).value);
    if (Number.isInteger(i) && i >= 0) setScene(syntheticScene(i));
  });
  $<HTMLInputElement>(root, '#in-file').addEventListener('change', async (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    try {
      setScene(await fileScene(file));
    } catch (error) {
      errorLine.textContent = String((error as Error)?.message ?? error);
    }
  });
  $<HTMLInputElement>(root, '#in-coco').addEventListener('change', async (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    try {
      setScene(withCocoBoxes(scene, await file.text()));
    } catch (error) {
      errorLine.textContent = `COCO file: ${String((error as Error)?.message ?? error)}`;
    }
  });
  $(root, '#in-clear').addEventListener('click', () => setScene(withoutBoxes(scene)));

  // Drawing a box on the first picture.
  const sceneCanvas = canvases.scene!;
  let start: [number, number] | null = null;
  const toImage = (e: PointerEvent): [number, number] => {
    const r = sceneCanvas.getBoundingClientRect();
    const side = Math.max(scene.width, scene.height);
    return [((e.clientX - r.left) / r.width) * side, ((e.clientY - r.top) / r.height) * side];
  };
  sceneCanvas.addEventListener('pointerdown', (e) => {
    start = toImage(e);
    sceneCanvas.setPointerCapture(e.pointerId);
  });
  sceneCanvas.addEventListener('pointerup', (e) => {
    if (start === null) return;
    const end = toImage(e);
    const clamp = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
    const box: [number, number, number, number] = [
      clamp(Math.min(start[0], end[0]), scene.width),
      clamp(Math.min(start[1], end[1]), scene.height),
      clamp(Math.max(start[0], end[0]), scene.width),
      clamp(Math.max(start[1], end[1]), scene.height),
    ];
    start = null;
    if (box[2] - box[0] < 2 || box[3] - box[1] < 2) return;
    const label = Number($<HTMLSelectElement>(root, '#in-class').value);
    gtIndex = scene.labels.length;
    setScene(withBox(scene, box, label));
  });

  function setScene(next: Scene): void {
    scene = next;
    if (gtIndex >= scene.labels.length) gtIndex = 0;
    safeRedraw();
  }

  return {
    setScene,
    redraw: () => {
      redraw();
      return state!;
    },
  };
}

/** The feature-map cell nearest the centre of box `g` (the map's centre when there is none). */
function focusCell(gt: Float32Array, g: number, fh: number, fw: number): [number, number] {
  if (g < 0) return [Math.floor(fh / 2), Math.floor(fw / 2)];
  const cx = (gt[4 * g]! + gt[4 * g + 2]!) / 2;
  const cy = (gt[4 * g + 1]! + gt[4 * g + 3]!) / 2;
  const clampCell = (v: number, n: number) => Math.min(n - 1, Math.max(0, Math.round(v / 16 - 0.5)));
  return [clampCell(cy, fh), clampCell(cx, fw)];
}

function key(color: string, text: string): string {
  return `<span class="key" style="--c:${color}"></span>${text}`;
}

function slider(id: string, label: string, min: number, max: number, step: number, value: number): string {
  return `<label class="slider">${label} <output id="val-${id}">${value}</output><input id="in-${id}" type="range" min="${min}" max="${max}" step="${step}" value="${value}"></label>`;
}

function card(id: string, title: string, text: string): string {
  return `<figure class="card" id="card-${id}"><figcaption><h3>${title}</h3><p id="cap-${id}">${text}</p></figcaption><canvas id="cv-${id}" aria-label="${title}"></canvas><div class="legend" id="lg-${id}"></div></figure>`;
}

