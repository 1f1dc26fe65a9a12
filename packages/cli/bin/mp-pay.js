#!/usr/bin/env node
// The `mp-pay` executable: registers tsx's loader, then runs the TypeScript entry point as is (no build step).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
