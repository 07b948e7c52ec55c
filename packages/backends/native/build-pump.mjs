// Compiles event-loop-pump.c (see there) into <outRoot>/<platform>-<arch>/event-loop-pump.node and returns
// that path. Throws with the compiler's message when there is no compiler or no Node headers.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function buildPump(outRoot) {
  const source = fileURLToPath(new URL('./event-loop-pump.c', import.meta.url));
  const include = path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node');
  if (!existsSync(path.join(include, 'node_api.h'))) throw new Error(`Node's headers are not at ${include} (node_api.h missing)`);
  const dir = path.join(outRoot, `${process.platform}-${process.arch}`);
  mkdirSync(dir, { recursive: true });
  const out = path.join(dir, 'event-loop-pump.node');
  const tmp = `${out}.${process.pid}.tmp`;
  const flags = process.platform === 'darwin' ? ['-bundle', '-undefined', 'dynamic_lookup'] : ['-shared', '-fPIC'];
  execFileSync(process.env.CC ?? 'cc', ['-O2', ...flags, `-I${include}`, '-o', tmp, source], { stdio: ['ignore', 'pipe', 'pipe'] });
  renameSync(tmp, out);
  return out;
}
