// The committed wasm (src/generated/wasm.ts) must be what assembly/index.ts compiles to today.
import { readFileSync } from 'node:fs';
import { compileAssembly, generatedPath, renderModule } from '@detkit/wasm-build';
import { expect, it } from 'vitest';

it('src/generated/wasm.ts matches assembly/index.ts (run `pnpm run wasm` after editing it)', async () => {
  const dir = new URL('..', import.meta.url).pathname;
  const bytes = await compileAssembly(dir);
  expect(readFileSync(generatedPath(dir), 'utf8')).toBe(renderModule(bytes, '@detkit/samplers'));
}, 60_000);
