import { detkitVitestConfig } from '@detkit/vitest-config';

// The longest suite of CI's test run, and its last to finish (ResNet-50 and Faster R-CNN parity, several
// minutes of tfjs-cpu work): two files at a time, so that it uses both cores once the others are done
// (CI 15m47s -> 12m26s here). Beside a loaded machine's other suites a ResNet-50 test can take several
// times its 39 s alone, so the per-test limit is 5 minutes rather than the shared 60 s.
export default detkitVitestConfig({ test: { maxWorkers: 2, testTimeout: 300_000, hookTimeout: 300_000 } });
