// The playground page: three views (Look inside, Train, Detect) switched by tabs and the URL hash.
// The page's own tfjs (Look inside, Detect) runs on WASM with detkit's kernels; training runs in a worker.
import { backendInfo, useBackend } from '@detkit/backends';
import { startBackend } from './backend';
import { mountDetect, type Detection, type DetectView } from './detect-view';
import { mountInspect, type InspectState } from './inspect-view';
import { mountTrain, type TrainView } from './train-view';
import { syntheticScene } from './scene';
import './style.css';

/** What the browser tests read and drive (window.__playground). */
export interface PlaygroundHandle {
  ready: boolean;
  error?: string;
  backend?: string;
  inspect?: InspectState;
  redrawInspect(): InspectState;
  showSynthetic(index: number): InspectState;
  train: TrainView;
  detect: DetectView;
  detections: Detection[];
  show(view: View): void;
}

type View = 'inspect' | 'train' | 'detect';
const VIEWS: View[] = ['inspect', 'train', 'detect'];

const wasmPaths = new URL('tfjs-wasm/', document.baseURI).href;
const w = window as unknown as { __playground?: Partial<PlaygroundHandle> };
const handle: Partial<PlaygroundHandle> = { ready: false, detections: [] };
w.__playground = handle;

function show(view: View): void {
  for (const v of VIEWS) {
    document.getElementById(`view-${v}`)!.hidden = v !== view;
    const tab = document.getElementById(`tab-${v}`)!;
    tab.setAttribute('aria-selected', String(v === view));
  }
  if (location.hash !== `#${view}`) history.replaceState(null, '', `#${view}`);
}

async function main(): Promise<void> {
  try {
    await startBackend('wasm', wasmPaths);
  } catch (error) {
    console.warn(`detkit playground: WASM is unavailable here, the page computes on the CPU backend (${String(error)})`);
    await useBackend('cpu');
  }
  handle.backend = backendInfo().backend;
  document.getElementById('page-backend')!.textContent = `page math on ${handle.backend}`;

  const inspect = mountInspect(document.getElementById('view-inspect')!, (s) => (handle.inspect = s));
  const detect = mountDetect(document.getElementById('view-detect')!, (d) => (handle.detections = d));
  const train = mountTrain(document.getElementById('view-train')!, wasmPaths, (model) => {
    show('detect');
    void detect.useModel(model, 'model trained in this page');
  });
  Object.assign(handle, {
    train,
    detect,
    show,
    redrawInspect: () => inspect.redraw(),
    showSynthetic: (index: number) => {
      (document.getElementById('in-synthetic') as HTMLInputElement).value = String(index);
      inspect.setScene(syntheticScene(index));
      return handle.inspect!;
    },
  });
  inspect.redraw();
  for (const v of VIEWS) document.getElementById(`tab-${v}`)!.addEventListener('click', () => show(v));
  const initial = location.hash.slice(1) as View;
  show(VIEWS.includes(initial) ? initial : 'inspect');
  handle.ready = true;
}

main().catch((error: unknown) => {
  handle.error = String((error as Error)?.stack ?? error);
  document.getElementById('fatal')!.textContent = `The playground failed to start: ${String((error as Error)?.message ?? error)}`;
});
