/** What the conformance page reports back to Node. */
export interface BrowserReport {
  /** Per backend: whether it started, and its backendInfo() (or the error). */
  backends: Record<string, { ok: boolean; info: string }>;
  /** Per `<backend> <case name>`: compareCaseResults' problems (empty: conformant). */
  problems: Record<string, string[]>;
  /** The browser lost the WebGL context while the webgl cases ran (a GPU reset): their results are void. */
  webglContextLost?: boolean;
  /** The WebGPU device was lost while the webgpu cases ran (its message): their results are void. */
  webgpuDeviceLost?: string;
  /** How long the page took, oracle and three backends (shown by the test: CI's machine is slower). */
  elapsedMs?: number;
}
