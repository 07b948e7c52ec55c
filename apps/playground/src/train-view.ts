// The "Train" view: a detector trains in a Web Worker; loss parts, steps/s and mAP are charted live
// (uPlot), and the backend menu swaps WebGPU / WebGL / WASM / CPU between two steps.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { $, seconds } from './dom';
import { cocoSamples } from './scene';
import { TrainClient } from './train-client';
import { DEFAULT_SETUP, PLAYGROUND_BACKENDS, type ExportedModel, type PlaygroundBackend, type StepEvent, type TrainSetup, type WorkerEvent } from './train-protocol';

const BACKEND_LABELS: Record<PlaygroundBackend, string> = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WASM (SIMD)', cpu: 'CPU (JavaScript)' };
const PART_COLORS = ['#ff9f1c', '#2ec4b6', '#e71d36', '#9b5de5'];
const BACKEND_COLORS: Record<string, string> = { webgpu: '#9b5de5', webgl: '#2ec4b6', wasm: '#ff9f1c', cpu: '#8d99ae' };

export interface TrainView {
  /** The worker's client; a new one (a fresh worker) after a run failed. */
  readonly client: TrainClient;
  /** Steps recorded since the last setup, in order. */
  steps: StepEvent[];
  setup(setup?: Partial<TrainSetup>, backend?: PlaygroundBackend): Promise<void>;
  exportModel(): Promise<ExportedModel>;
}

/** Which backends this browser can offer (WebGPU needs navigator.gpu; WebGL, WebGL 2 on an OffscreenCanvas in the worker). */
export function availableBackends(): Record<PlaygroundBackend, boolean> {
  // Only what the platform declares: creating a context here would leave a lost one behind. The worker
  // reports a backend that fails to start when it is picked.
  const webgl = typeof OffscreenCanvas !== 'undefined' && typeof WebGL2RenderingContext !== 'undefined';
  return { webgpu: 'gpu' in navigator, webgl, wasm: typeof WebAssembly === 'object', cpu: true };
}

export function mountTrain(root: HTMLElement, wasmPaths: string, onModel: (m: ExportedModel) => void): TrainView {
  const available = availableBackends();
  root.innerHTML = `
  <div class="controls" role="group" aria-label="Training settings">
    <fieldset>
      <legend>Model</legend>
      <label>Detector <select id="tr-model"><option value="ssd">SSD (default boxes, 3:1 hard negatives)</option><option value="faster-rcnn">Faster R-CNN (RPN + RoI head)</option></select></label>
      <label>Input size <select id="tr-size"><option>64</option><option selected>96</option><option>128</option></select></label>
      <label>Batch size <select id="tr-batch"><option>4</option><option selected>8</option><option>16</option></select></label>
      <label>Optimizer <select id="tr-opt"><option value="adam">Adam</option><option value="momentum">SGD, momentum 0.9</option></select></label>
      <label>Learning rate <input id="tr-lr" type="number" step="0.0005" min="0.0001" max="0.1" value="${DEFAULT_SETUP.learningRate}"></label>
      <label>Data <select id="tr-data"><option value="synthetic">built-in synthetic set (2,000 images, 4 shapes)</option><option value="mine" disabled>your images (add them below)</option></select></label>
      <label>Your images + COCO file <input id="tr-files" type="file" multiple accept="image/png,image/jpeg,.json,application/json"></label>
      <p class="hint" id="tr-data-info">Images are letterboxed to the input size and flipped at random.</p>
    </fieldset>
    <fieldset>
      <legend>Run</legend>
      <label>Backend <select id="tr-backend">${PLAYGROUND_BACKENDS.map((b) => `<option value="${b}" ${available[b] ? '' : 'disabled'} ${b === 'wasm' ? 'selected' : ''}>${BACKEND_LABELS[b]}${available[b] ? '' : ' (not here)'}</option>`).join('')}</select></label>
      <div class="buttons">
        <button id="tr-start" type="button" class="primary">Train</button>
        <button id="tr-pause" type="button" disabled>Pause</button>
        <button id="tr-reset" type="button">New model</button>
        <button id="tr-eval" type="button">Evaluate now</button>
        <button id="tr-use" type="button">Use in Detect</button>
      </div>
      <p class="status" id="tr-status" aria-live="polite">No model yet.</p>
      <p class="error" id="tr-error" role="alert"></p>
    </fieldset>
  </div>
  <div class="cards charts">
    <figure class="card"><figcaption><h3>Loss</h3><p>The total training loss and its parts per step, as @detkit/models' detector returns them (log scale).</p></figcaption><div id="ch-loss" class="chart"></div></figure>
    <figure class="card"><figcaption><h3>Steps per second</h3><p>Training speed per step, coloured by the backend that ran it: a backend swap shows as a change of colour and level.</p></figcaption><div id="ch-speed" class="chart"></div><div class="legend" id="tr-speeds"></div></figure>
    <figure class="card"><figcaption><h3>mAP</h3><p>VOC mAP@0.5 (@detkit/eval) on validation images of the synthetic set, every 50 steps.</p></figcaption><div id="ch-map" class="chart"></div></figure>
  </div>`;

  let client = new TrainClient();
  /** Set when a request failed: the worker's tfjs may be left mid-step, so the next setup starts a fresh worker. */
  let broken = false;
  const status = $(root, '#tr-status');
  const errorLine = $(root, '#tr-error');
  const startButton = $<HTMLButtonElement>(root, '#tr-start');
  const pauseButton = $<HTMLButtonElement>(root, '#tr-pause');
  const backendSelect = $<HTMLSelectElement>(root, '#tr-backend');

  const steps: StepEvent[] = [];
  const evals: { step: number; map: number }[] = [];
  let partNames: string[] = [];
  let backendNow = '';
  let isSetUp = false;
  let isRunning = false;

  const chartOptions = (series: uPlot.Series[], log: boolean, id: string): uPlot.Options => ({
    width: $(root, `#${id}`).clientWidth || 320,
    height: 200,
    series: [{ label: 'step' }, ...series],
    scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
    axes: [{ stroke: '#aab', grid: { stroke: '#2a2f38' } }, { stroke: '#aab', grid: { stroke: '#2a2f38' } }],
    legend: { show: true },
  });
  let lossChart: uPlot | undefined;
  const speedChart = new uPlot(
    chartOptions(PLAYGROUND_BACKENDS.map((b) => ({ label: b, stroke: BACKEND_COLORS[b], points: { show: true, size: 4 }, spanGaps: false })), false, 'ch-speed'),
    [[], [], [], [], []],
    $(root, '#ch-speed'),
  );
  const mapChart = new uPlot(chartOptions([{ label: 'mAP@0.5', stroke: '#2ecc71', points: { show: true, size: 6 } }], false, 'ch-map'), [[], []], $(root, '#ch-map'));

  function buildLossChart(): void {
    lossChart?.destroy();
    $(root, '#ch-loss').innerHTML = '';
    lossChart = new uPlot(
      chartOptions([{ label: 'total', stroke: '#ffffff', width: 2 }, ...partNames.map((p, i) => ({ label: p, stroke: PART_COLORS[i % PART_COLORS.length] }))], true, 'ch-loss'),
      [[], [], ...partNames.map(() => [])],
      $(root, '#ch-loss'),
    );
  }
  buildLossChart();

  const resize = new ResizeObserver(() => {
    for (const [chart, id] of [[lossChart, 'ch-loss'], [speedChart, 'ch-speed'], [mapChart, 'ch-map']] as const) {
      const w = $(root, `#${id}`).clientWidth;
      if (chart && w > 0) chart.setSize({ width: w, height: 200 });
    }
  });
  resize.observe(root);

  function redrawCharts(): void {
    const x = steps.map((s) => s.step);
    if (steps.length > 0 && partNames.length === 0) {
      partNames = Object.keys(steps[0]!.parts);
      buildLossChart();
    }
    lossChart?.setData([x, steps.map((s) => s.loss), ...partNames.map((p) => steps.map((s) => s.parts[p] ?? null))] as uPlot.AlignedData);
    speedChart.setData([x, ...PLAYGROUND_BACKENDS.map((b) => steps.map((s) => (s.backend === b ? 1000 / s.ms : null)))] as uPlot.AlignedData);
    mapChart.setData([evals.map((e) => e.step), evals.map((e) => e.map)]);
    const per = PLAYGROUND_BACKENDS.map((b) => {
      const mine = steps.filter((s) => s.backend === b).slice(1); // the first step on a backend compiles shaders / kernels
      if (mine.length === 0) return '';
      const mean = mine.reduce((a, s) => a + s.ms, 0) / mine.length;
      return `<span class="key" style="--c:${BACKEND_COLORS[b]}"></span>${BACKEND_LABELS[b]} <b data-testid="speed-${b}">${(1000 / mean).toFixed(2)}</b> steps/s`;
    }).filter(Boolean);
    $(root, '#tr-speeds').innerHTML = per.length ? `Mean after each backend's first step: ${per.join(' · ')}` : '';
  }

  function updateStatus(): void {
    const last = steps.at(-1);
    const recent = steps.filter((s) => s.backend === backendNow).slice(-10);
    const sps = recent.length ? (1000 * recent.length) / recent.reduce((a, s) => a + s.ms, 0) : 0;
    const total = steps.reduce((a, s) => a + s.ms, 0) / 1000;
    status.innerHTML = !isSetUp
      ? 'No model yet.'
      : `${isRunning ? 'Training' : 'Paused'} on <b id="tr-backend-now">${backendNow}</b> · step <b id="tr-step">${last?.step ?? 0}</b> · loss ${last ? last.loss.toFixed(3) : '–'} · ${sps ? sps.toFixed(2) : '–'} steps/s · ${seconds(total)} training${evals.length ? ` · mAP ${evals.at(-1)!.map.toFixed(3)}` : ''}`;
    startButton.disabled = isRunning;
    pauseButton.disabled = !isRunning;
  }

  let scheduled = false;
  const listen = (e: WorkerEvent) => {
    if (e.type === 'step') steps.push(e);
    else if (e.type === 'eval') evals.push({ step: e.step, map: e.map });
    else if (e.type === 'backend') {
      backendNow = e.backend;
      if ((PLAYGROUND_BACKENDS as readonly string[]).includes(e.backend)) backendSelect.value = e.backend;
    }
    else if (e.type === 'state') isRunning = e.running;
    else if (e.type === 'log') errorLine.textContent = e.text;
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(() => {
        scheduled = false;
        redrawCharts();
        updateStatus();
      });
    }
  };
  client.on(listen);

  /** The client's requests, marking the worker broken when one fails. */
  const worker = new Proxy({} as TrainClient, {
    get(_, key: keyof TrainClient) {
      const value = client[key];
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(client, args);
        return result instanceof Promise ? result.catch((error: unknown) => ((broken = true), Promise.reject(error))) : result;
      };
    },
  });

  let userData: TrainSetup['data'];
  $<HTMLInputElement>(root, '#tr-files').addEventListener('change', async (e) => {
    const files = Array.from((e.target as HTMLInputElement).files ?? []);
    const json = files.find((f) => f.name.endsWith('.json'));
    const dataSelect = $<HTMLSelectElement>(root, '#tr-data');
    try {
      if (!json) throw new Error('add the COCO instances file (.json) with the images');
      const { samples, classes, missing } = await cocoSamples(files.filter((f) => f !== json), await json.text());
      userData = { samples, classes };
      dataSelect.options[1]!.disabled = false;
      dataSelect.options[1]!.textContent = `your images (${samples.length}, classes ${classes.join(', ')})`;
      dataSelect.value = 'mine';
      $(root, '#tr-data-info').textContent = `${samples.length} images read${missing ? `, ${missing} named in the COCO file but not chosen` : ''}; mAP is measured on these same images. Press "New model" to train on them.`;
    } catch (error) {
      errorLine.textContent = String((error as Error)?.message ?? error);
    }
  });

  function readSetup(): TrainSetup {
    const model = $<HTMLSelectElement>(root, '#tr-model').value as TrainSetup['model'];
    return {
      ...DEFAULT_SETUP,
      model,
      channels: model === 'ssd' ? [...DEFAULT_SETUP.channels] : [16, 32, 64],
      imageSize: Number($<HTMLSelectElement>(root, '#tr-size').value),
      batchSize: Number($<HTMLSelectElement>(root, '#tr-batch').value),
      optimizer: $<HTMLSelectElement>(root, '#tr-opt').value as TrainSetup['optimizer'],
      learningRate: Number($<HTMLInputElement>(root, '#tr-lr').value) || DEFAULT_SETUP.learningRate,
      ...($<HTMLSelectElement>(root, '#tr-data').value === 'mine' && userData ? { data: userData } : {}),
    };
  }

  async function setup(overrides: Partial<TrainSetup> = {}, backend?: PlaygroundBackend): Promise<void> {
    const s = { ...readSetup(), ...overrides };
    steps.length = 0;
    evals.length = 0;
    partNames = [];
    buildLossChart();
    if (backend) backendSelect.value = backend;
    if (broken) {
      client.terminate();
      client = new TrainClient();
      client.on(listen);
      broken = false;
      isRunning = false;
    }
    await worker.setup(s, backendSelect.value as PlaygroundBackend, wasmPaths);
    isSetUp = true;
    redrawCharts();
    updateStatus();
  }

  const guard = (fn: () => Promise<unknown>) => () => {
    errorLine.textContent = '';
    fn().catch((error: unknown) => (errorLine.textContent = String((error as Error)?.message ?? error)));
  };
  startButton.addEventListener(
    'click',
    guard(async () => {
      if (!isSetUp) await setup();
      await worker.run(Number.MAX_SAFE_INTEGER);
    }),
  );
  pauseButton.addEventListener('click', guard(() => worker.pause()));
  $(root, '#tr-reset').addEventListener('click', guard(() => setup()));
  $(root, '#tr-eval').addEventListener(
    'click',
    guard(async () => {
      if (!isSetUp) await setup();
      await worker.evaluate();
    }),
  );
  $(root, '#tr-use').addEventListener(
    'click',
    guard(async () => {
      if (!isSetUp) throw new Error('train a model first');
      onModel(await worker.export());
    }),
  );
  backendSelect.addEventListener(
    'change',
    guard(async () => {
      if (isSetUp) await worker.backend(backendSelect.value as PlaygroundBackend);
    }),
  );

  return {
    get client() {
      return worker;
    },
    steps,
    setup,
    exportModel: () => worker.export(),
  };
}
