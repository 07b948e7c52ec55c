import { detkitTsupConfig } from '@detkit/tsup-config';

export default detkitTsupConfig();
