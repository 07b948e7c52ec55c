#!/usr/bin/env node
// Builds native/event-loop-pump.c into native/prebuilt/<platform>-<arch>/event-loop-pump.node with the
// system C compiler and the running Node's headers (<node prefix>/include/node). The linux-x64 binary is
// committed; other platforms build it on first use (see src/webgpu/sync-read.ts) or with this script.
import { buildPump } from './build-pump.mjs';

console.log(buildPump(new URL('./prebuilt/', import.meta.url).pathname));
