import type { Browser, Page } from 'playwright-core';

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
/** A page that stopped making progress (a hung GPU process, say): waitForPageResult gave up on it. */
export declare class PageStalledError extends Error {
  constructor(message: string, progress: unknown);
  /** What the page last reported as its progress. */
  readonly progress: unknown;
}
/**
 * Waits for `window[key]` (default `__detkit`) and returns it; fails with PageStalledError only when
 * `window[progressKey]` (default `__detkitProgress`) has not changed for `stallMs` (120 s) or the page runs
 * past `totalMs` (900 s). Each look at the page is bounded by the stall time.
 */
export declare function waitForPageResult(page: Page, options?: { key?: string; progressKey?: string; stallMs?: number; totalMs?: number; pollMs?: number }): Promise<unknown>;
/** Closes a browser, giving up after `ms` (default 30 s). */
export declare function closeBrowser(browser: Browser | undefined, ms?: number): Promise<void>;
/**
 * Runs `run` up to `attempts` (3) times, again only after a PageStalledError, an error `transientError` gives
 * a reason for, or a result `transientResult` gives one for; each retry is printed with `what`, the reason and
 * `context()`. The last attempt's error is thrown and its result returned, whatever they are.
 */
export declare function retryTransient<T>(
  what: string,
  run: () => Promise<T>,
  options?: { attempts?: number; transientError?: (error: unknown) => string | undefined; transientResult?: (result: T) => string | undefined; context?: () => string },
): Promise<T>;
