/** Loading modules from the compiled mini-program (see build.ts; this file must not import esbuild). */
import { createRequire } from 'node:module';
import { join } from 'node:path';

export interface BuiltMiniprogram {
  /** The compiled mini-program root (outside any package.json with "type": "module", so .js is CommonJS). */
  root: string;
  /** require() relative to the compiled root: the same module instances the pages use. */
  load<T>(relPath: string): T;
  /** Forget every compiled module, so the next load starts with fresh service state. */
  reset(): void;
}

export function openBuilt(root: string): BuiltMiniprogram {
  const require = createRequire(join(root, 'app.js'));
  return {
    root,
    load: <T>(relPath: string) => require(join(root, relPath)) as T,
    reset() {
      for (const key of Object.keys(require.cache)) if (key.startsWith(root)) delete require.cache[key];
    },
  };
}
