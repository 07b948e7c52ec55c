// @detkit/data/node: file-system readers and writers (Node only). Everything else is in '@detkit/data'.
export { loadImageFile, readImageInfo } from './load-image-file';
export { readCoco, type ReadCocoOptions } from './read-coco';
export { readVoc, type ReadVocOptions, type VocDataset } from './read-voc';
export { writeSynthetic, type WriteSyntheticOptions, type SyntheticFiles } from './write-synthetic';
export { createWorkerPool, type WorkerPool, type WorkerPoolOptions } from './worker-pool';
