// Every conformance case, by package. A package adds its cases as a list in a file here (and itself as
// a devDependency of @detkit/backends); Node's suite and the browser page both read ALL_CASES.
import type { ConformanceCase } from '../../src/conformance';
import { BOXES_CASES } from './boxes';
import { CORE_CASES } from './core';
import { HEADS_CASES } from './heads';
import { MATCHERS_CASES } from './matchers';
import { TFJS_OP_CASES } from './tfjs-ops';

export const ALL_CASES: ConformanceCase[] = [...TFJS_OP_CASES, ...CORE_CASES, ...BOXES_CASES, ...MATCHERS_CASES, ...HEADS_CASES];
