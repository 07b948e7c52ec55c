// The page's handle on the training worker: requests as promises, events to listeners.
import type { ExportedModel, PlaygroundBackend, Reply, Request, TrainSetup, WorkerEvent } from './train-protocol';

export class TrainClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly listeners = new Set<(e: WorkerEvent) => void>();

  constructor() {
    this.worker = new Worker(new URL('./train-worker.ts', import.meta.url), { type: 'module', name: 'detkit-train' });
    this.worker.onmessage = (e: MessageEvent<WorkerEvent | Reply>) => {
      const m = e.data;
      if (m.type === 'reply') {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error !== undefined) p?.reject(new Error(m.error));
        else p?.resolve(m.result);
        return;
      }
      for (const l of this.listeners) l(m);
    };
    this.worker.onerror = (e) => {
      const error = new Error(`training worker: ${e.message}`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
      for (const l of this.listeners) l({ type: 'log', text: error.message });
    };
  }

  on(listener: (e: WorkerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private request<T>(request: Request): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, request });
    });
  }

  setup(setup: TrainSetup, backend: PlaygroundBackend, wasmPaths: string): Promise<{ backend: string; variables: number }> {
    return this.request({ type: 'setup', setup, backend, wasmPaths });
  }

  /** Trains `steps` more steps (or until paused); resolves with the step count reached. */
  run(steps: number): Promise<{ step: number }> {
    return this.request({ type: 'run', steps });
  }

  pause(): Promise<{ step: number }> {
    return this.request({ type: 'pause' });
  }

  /** Switches backend now, or before the next step when training. */
  backend(backend: PlaygroundBackend): Promise<{ backend?: string; queued?: boolean }> {
    return this.request({ type: 'backend', backend });
  }

  /** Every variable of the detector (weights and batch-norm statistics) by its key. */
  weights(): Promise<Record<string, Float32Array>> {
    return this.request({ type: 'weights' });
  }

  evaluate(): Promise<{ map: number; ms: number }> {
    return this.request({ type: 'evaluate' });
  }

  export(): Promise<ExportedModel> {
    return this.request({ type: 'export' });
  }

  terminate(): void {
    this.worker.terminate();
  }
}
