import { rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { compileMiniprogram } from './build.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The compiled mini-program (see build.ts). */
    miniprogramRoot: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const root = await compileMiniprogram();
  project.provide('miniprogramRoot', root);
  return () => rmSync(root, { recursive: true, force: true });
}
