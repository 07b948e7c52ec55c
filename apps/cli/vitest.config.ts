import { detkitVitestConfig } from '@detkit/vitest-config';

export default detkitVitestConfig();
