import type { Browser } from 'playwright-core';

/** Debian's chromium, or DETKIT_CHROMIUM. */
export declare const CHROMIUM: string;
/** DETKIT_SKIP_BROWSER=1 skips every browser suite (for machines without Chromium). */
export declare const BROWSER_OPTED_OUT: boolean;
/** WebGL and WebGPU on SwiftShader (a CPU emulation of a GPU), no sandbox, no network chatter. */
export declare const CHROMIUM_ARGS: string[];
/** Starts headless Chromium with CHROMIUM_ARGS; a missing executable is an error saying how to install it or opt out. */
export declare function launchChromium(): Promise<Browser>;
/** A static file server over a folder; close() stops it and deletes the folder. */
export interface Served {
  url: string;
  dir: string;
  close(): Promise<void>;
}
/** Serves the files under `dir` from localhost (`/` is index.html; anything else missing is a 404). */
export declare function serveDirectory(dir: string): Promise<Served>;
