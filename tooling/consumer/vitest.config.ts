import { detkitVitestConfig } from '@detkit/vitest-config';

// The consumer suite packs and installs packages (npm, a browser): generous timeouts, one file at a time.
export default detkitVitestConfig({ test: { testTimeout: 240_000, hookTimeout: 240_000, fileParallelism: false } });
