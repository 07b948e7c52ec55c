import { detkitVitestConfig } from '@detkit/vitest-config';

// --expose-gc: the streaming test measures heap growth after explicit collections. The global setup
// builds the worker pool's worker script (see vitest.global-setup.ts).
export default detkitVitestConfig({ test: { execArgv: ['--expose-gc'], globalSetup: ['./vitest.global-setup.ts'] } });
