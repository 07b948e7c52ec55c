#!/usr/bin/env node
// detkit-wasm: regenerates src/generated/wasm.ts of the package in the current directory.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { compileAssembly, generatedPath, renderModule } from './index.js';

const dir = process.cwd();
const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'));
const compiled = await compileAssembly(dir);
const out = generatedPath(dir);
await mkdir(path.dirname(out), { recursive: true });
await writeFile(out, renderModule(compiled, pkg.name));
console.log(`${path.relative(dir, out)}: ${compiled.bytes.length} bytes of wasm, ${compiled.exports.length} exports`);
