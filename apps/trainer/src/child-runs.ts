/**
 * Test support for the suites that run the trainer as a user does, in child processes (faults.test.ts,
 * threads.test.ts); not part of the app (tsup does not build it). The entry points are bundled with
 * `bundleForNode` first (train.js, detect.js, fault-child.js: see src/fault-child.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface KillPlan {
  /** Pause (then SIGKILL) right after this file of this folder is written. */
  pause?: { stage: 'checkpoint' | 'model'; dir: string; file: string };
  /** SIGKILL this many ms after the child reports this step. */
  afterStep?: { step: number; delayMs: number };
}

/** Child processes still running (a test that times out must not leave one behind: see `killChildren`). */
const running = new Set<ChildProcess>();

/**
 * Runs a bundled entry point of `bundleDir` as a child process; `fault-child.js` reports its steps and
 * writes over IPC, which `plan` uses to SIGKILL it at a chosen point.
 */
export function runChild(bundleDir: string, entry: string, args: readonly string[], plan: KillPlan = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(bundleDir, entry), args, {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ...(plan.pause ? { DETKIT_FAULT_PAUSE: JSON.stringify(plan.pause) } : {}) },
    });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('message', (m: { type: string; step?: number }) => {
      if (m.type === 'paused') child.kill('SIGKILL');
      if (m.type === 'step' && plan.afterStep && m.step === plan.afterStep.step) setTimeout(() => child.kill('SIGKILL'), plan.afterStep.delayMs);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** SIGKILLs every child still running (for an `afterEach`). */
export function killChildren(): void {
  for (const child of running) child.kill('SIGKILL');
}

export function sha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** SHA-256 of a run's `model/weights.bin`: every trained variable's bits. */
export async function weightsSha(out: string): Promise<string> {
  return sha(await readFile(path.join(out, 'model', 'weights.bin')));
}

/** A run's metrics.jsonl without its clock fields (steps/s, seconds, data wait, load average). */
export async function metrics(out: string): Promise<unknown[]> {
  const text = await readFile(path.join(out, 'metrics.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const r = JSON.parse(l) as Record<string, unknown>;
      // Clock fields differ from run to run; nothing else may.
      for (const k of Object.keys(r)) if (/second|wait|^load$/i.test(k)) delete r[k];
      return r;
    });
}
