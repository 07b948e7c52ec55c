import { detkitVitestConfig } from '@detkit/vitest-config';

// The longest suite of CI's test run, and its last to finish (ResNet-50 and Faster R-CNN parity, several
// minutes of tfjs-cpu work): two files at a time, so that it uses both cores once the others are done.
export default detkitVitestConfig({ test: { maxWorkers: 2 } });
