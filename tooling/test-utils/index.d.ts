import type { DetkitError, tf } from '@detkit/core';

/** Backends every package is tested on in Node. */
export declare const NODE_BACKENDS: string[];
/** Runs `suite` once per backend, with that backend active. */
export declare function describeEachBackend(name: string, suite: (backend: string) => void, backends?: string[]): void;
/** Elementwise |actual - expected| <= atol + rtol * |expected| (default 1e-5 each), with shape check. */
export declare function expectClose(
  actual: tf.Tensor | ArrayLike<number> | number[],
  expected: unknown,
  opts?: { atol?: number; rtol?: number; what?: string },
): void;
/** Runs fn, disposes its tensors, asserts tf.memory().numTensors is back where it was. */
export declare function expectNoLeaks(fn: () => unknown): Promise<void>;
/** Runs fn, expects a DetkitError (any subclass, or an instance of `errorClass` when given) to be thrown, and returns it. */
export declare function thrownDetkitError<E extends DetkitError = DetkitError>(fn: () => unknown, errorClass?: abstract new (...args: any[]) => E): E;
/** Reads a JSON fixture written by tooling/fixtures/generate.py. */
export declare function readFixture(url: URL | string): unknown;
/** SwiftShader's Vulkan driver manifest from Debian's chromium package. */
export declare const SWIFTSHADER_VULKAN_ICD: string;
/** Points Vulkan at SwiftShader for Dawn in this process (VK_ICD_FILENAMES, XDG_RUNTIME_DIR); throws when the driver is missing. Returns the manifest. */
export declare function provideSoftwareVulkan(): string;
