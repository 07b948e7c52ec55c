// Child scripts of the process and worker-thread tests, bundled with esbuild into a temporary folder
// under this package's node_modules/.cache, so that their bare imports (left external) resolve from this
// package as they would in an application.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForNode } from '@detkit/test-utils/bundle';

export const PACKAGE = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/**
 * Bundles `entry` (relative to this package) to an ES module; `external` stay imports.
 * Returns the bundle's path and a `remove()` for the temporary folder.
 */
export async function bundleChild(entry: string, external: string[]): Promise<{ file: string; remove(): void }> {
  const cache = path.join(PACKAGE, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(path.join(cache, `${path.basename(entry, '.ts')}-`));
  const file = path.join(dir, `${path.basename(entry, '.ts')}.js`);
  await bundleForNode([path.join(PACKAGE, entry)], dir, { external });
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
