// The browser bundle-size bar of issue 14, on the workspace's built packages (the consumer suite measures
// the same bundles from the packed tarballs): @detkit/boxes + tfjs-backend-wasm at most 1.2x tfjs-core +
// tfjs-backend-wasm alone (gzipped), with one copy of tfjs-core's ops and no backend nobody imported.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MAX_RATIO, measureBundles } from './bundle-size.mjs';

const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('browser bundle size', () => {
  it(`@detkit/boxes + tfjs-backend-wasm is at most ${MAX_RATIO}x tfjs-core + tfjs-backend-wasm (gzipped)`, async () => {
    const r = await measureBundles(HERE);
    const base = r['tfjs-core + wasm (baseline)']!;
    for (const name of ['@detkit/boxes (all) + wasm', '@detkit/boxes { boxIou, nms } + wasm']) {
      const bundle = r[name]!;
      const ratio = bundle.gzipped / base.gzipped;
      console.log(`${name}: ${(bundle.gzipped / 1024).toFixed(1)} KB gz = ${ratio.toFixed(3)}x the baseline's ${(base.gzipped / 1024).toFixed(1)} KB`);
      expect(ratio, name).toBeLessThanOrEqual(MAX_RATIO);
      // One tfjs-core: its ops come from tfjs-core's own files only, none inlined into @detkit/core.
      const conv2d = bundle.inputs.filter((f: string) => /\/ops\/conv2d\.js$/.test(f));
      expect(conv2d.every((f: string) => f.includes('@tensorflow/tfjs-core/dist/')), conv2d.join(', ')).toBe(true);
      expect(bundle.inputs.filter((f: string) => f.includes('@detkit/core') || f.includes('packages/core/')).every((f: string) => f.includes('/dist/browser/'))).toBe(true);
      // No cpu backend: only the few shared kernels tfjs-backend-wasm itself imports from it.
      expect(bundle.inputs.some((f: string) => /tfjs-backend-cpu\/dist\/(base|register_all_kernels|backend_cpu)\.js$/.test(f))).toBe(false);
    }
  }, 120_000);
});
