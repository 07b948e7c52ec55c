import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from '@detkit/core';
import { thrownDetkitError } from '@detkit/test-utils';
import { describe, expect, it } from 'vitest';
import { useBackend } from './use-backend';
import { checkThreads, checkXnnpackThreads, defaultWasmThreads, MAX_WASM_THREADS } from './wasm-threads';

describe('the threads option', () => {
  it.each([0, -1, 9, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '2', null])('%s is an InvalidArgumentError naming threads', (threads) => {
    const e = thrownDetkitError(() => checkThreads(threads));
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect((e as InvalidArgumentError).argument).toBe('threads');
    expect(e.message).toContain(`from 1 to ${MAX_WASM_THREADS}`);
  });

  it('accepts 1 to 8', () => {
    for (let n = 1; n <= MAX_WASM_THREADS; n++) expect(checkThreads(n)).toBe(n);
  });

  it('useBackend checks it before starting anything, for every backend name', async () => {
    await expect(useBackend('wasm', { threads: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(useBackend('auto', { threads: 2.5 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(useBackend('cpu', { threads: 99 })).rejects.toThrow(/'threads' must be from 1 to 8/);
  });

  it('defaults to every core, at most 8', async () => {
    expect(await defaultWasmThreads()).toBe(Math.min(8, availableParallelism()));
  });
});

describe('the xnnpackThreads option', () => {
  it.each([0, 3, 1.5, Number.NaN, '1'])('%s with threads 2 is an InvalidArgumentError naming xnnpackThreads', (xnnpackThreads) => {
    const e = thrownDetkitError(() => checkXnnpackThreads(xnnpackThreads, 2));
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect((e as InvalidArgumentError).argument).toBe('xnnpackThreads');
    expect(e.message).toContain('from 1 to threads (2)');
  });

  it('accepts 1 to threads', () => {
    for (let n = 1; n <= 4; n++) expect(checkXnnpackThreads(n, 4)).toBe(n);
  });

  it('useBackend checks it before starting anything', async () => {
    await expect(useBackend('wasm', { threads: 2, xnnpackThreads: 3 })).rejects.toThrow(/'xnnpackThreads' must be an integer from 1 to threads \(2\)/);
    await expect(useBackend('cpu', { xnnpackThreads: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
