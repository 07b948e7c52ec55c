import { detkitVitestConfig } from '@detkit/vitest-config';

// One browser test file: it builds the app, starts Chromium once and trains on three backends (SwiftShader).
export default detkitVitestConfig({ test: { include: ['test/**/*.test.ts'], testTimeout: 240_000, hookTimeout: 240_000 } });
