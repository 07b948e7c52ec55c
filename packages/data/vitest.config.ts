import { detkitVitestConfig } from '@detkit/vitest-config';

// --expose-gc: the streaming test measures heap growth after explicit collections.
export default detkitVitestConfig({ test: { execArgv: ['--expose-gc'] } });
