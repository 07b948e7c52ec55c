// What vitest.global-setup.ts provides to the tests (vitest's inject()).
declare module 'vitest' {
  export interface ProvidedContext {
    /** The worker pool's worker script, built from src/node/worker.ts for the tests. */
    dataWorkerFile: string;
  }
}
export {};
