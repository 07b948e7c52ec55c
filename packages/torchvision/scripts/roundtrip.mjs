// detkit side of the generator's round-trip check (tooling/fixtures/groups/torchvision.py):
//   node scripts/roundtrip.mjs in.safetensors out.safetensors
// loads a torchvision state dict into @detkit/torchvision's model (built: dist/) and saves it again.
import { readFileSync, writeFileSync } from 'node:fs';
import { setupBackend } from '@detkit/core';
import { fasterrcnnMobilenetV3Large320Fpn, fasterrcnnMobilenetV3LargeFpn, fasterrcnnResnet50Fpn, readSafetensors, ssdlite320MobilenetV3Large } from '../dist/index.js';

await setupBackend('cpu');

const [src, dst] = process.argv.slice(2);
const file = readSafetensors(new Uint8Array(readFileSync(src)));
const kwargs = JSON.parse(file.metadata.kwargs ?? '{}');
const numClasses = kwargs.num_classes ?? 91;
const widthMult = kwargs.width_mult ?? 1;
const fasterOptions = { numClasses, widthMult, fpnOutChannels: kwargs.fpn_out_channels ?? 256, representationSize: kwargs.representation_size ?? 1024 };
const factories = {
  'torchvision.models.detection.ssdlite320_mobilenet_v3_large': () => ssdlite320MobilenetV3Large({ numClasses, widthMult }),
  'torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn': () => fasterrcnnMobilenetV3Large320Fpn(fasterOptions),
  'torchvision.models.detection.fasterrcnn_mobilenet_v3_large_fpn': () => fasterrcnnMobilenetV3LargeFpn(fasterOptions),
  // A state dict without num_batches_tracked is FrozenBatchNorm2d's (torchvision's pretrained build).
  'torchvision.models.detection.fasterrcnn_resnet50_fpn': () => fasterrcnnResnet50Fpn({ numClasses, frozenBatchNorm: ![...file.tensors.keys()].some((k) => k.endsWith('num_batches_tracked')) }),
};
const make = factories[file.metadata.model];
if (make === undefined) throw new Error(`roundtrip.mjs: unknown model ${file.metadata.model}`);
const model = make();
model.loadStateDict(file);
writeFileSync(dst, model.saveStateDict());
model.dispose();
