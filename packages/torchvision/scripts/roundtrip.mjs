// detkit side of the generator's round-trip check (tooling/fixtures/groups/torchvision.py):
//   node scripts/roundtrip.mjs in.safetensors out.safetensors
// loads a torchvision state dict into @detkit/torchvision's model (built: dist/) and saves it again.
import { readFileSync, writeFileSync } from 'node:fs';
import { setupBackend } from '@detkit/core';
import { readSafetensors, ssdlite320MobilenetV3Large } from '../dist/index.js';

await setupBackend('cpu');

const [src, dst] = process.argv.slice(2);
const file = readSafetensors(new Uint8Array(readFileSync(src)));
const kwargs = JSON.parse(file.metadata.kwargs ?? '{}');
if (file.metadata.model !== 'torchvision.models.detection.ssdlite320_mobilenet_v3_large') throw new Error(`roundtrip.mjs: unknown model ${file.metadata.model}`);
const model = ssdlite320MobilenetV3Large({ numClasses: kwargs.num_classes ?? 91, widthMult: kwargs.width_mult ?? 1 });
model.loadStateDict(file);
writeFileSync(dst, model.saveStateDict());
model.dispose();
