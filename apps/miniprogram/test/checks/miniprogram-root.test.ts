/**
 * What DevTools needs from miniprogram/, checked without DevTools: the contract copy is current, every
 * module reference stays inside the root, every page is complete, and WeChat's compilers accept the
 * templates and styles. The negative cases prove each check can fail.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  checkPages,
  checkReferences,
  checkSyntax,
  checkTsImports,
  listFiles,
  MINIPROGRAM_ROOT,
  moduleSpecifiers,
} from '../../scripts/miniprogram-files.ts';
import { copyOf, currentCopy, expectedCopy } from '../../scripts/shared-copy.ts';
import { compileWxml, compileWxss } from '../../scripts/wechat-compiler.ts';

const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A throwaway mini-program root with the given files. */
function fixture(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'mp-pay-fixture-'));
  scratch.push(root);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), content);
  }
  return root;
}

const PAGE = {
  'app.json': JSON.stringify({ pages: ['pages/a/index'] }),
  'pages/a/index.ts': 'Component({});\n',
  'pages/a/index.json': '{ "usingComponents": {} }',
  'pages/a/index.wxml': '<view class="a">{{x}}</view>\n',
  'pages/a/index.wxss': '.a { color: red; }\n',
};

describe('the real miniprogram/', () => {
  test('generated/api.ts is a current copy of @mp-pay/shared/api', () => {
    expect(currentCopy()).toBe(expectedCopy());
  });

  test('has no module reference outside the mini-program root, nor a workspace or npm package, nor syntax DevTools may not parse', () => {
    expect(checkReferences(MINIPROGRAM_ROOT)).toEqual([]);
  });

  test('the scan sees imports in every file (it is not vacuous)', () => {
    const files = listFiles(MINIPROGRAM_ROOT, '.ts');
    expect(files).toContain('pages/result/index.ts');
    expect(files.length).toBeGreaterThan(10);
  });

  test('every page in app.json has .ts, .wxml, .wxss and .json', () => {
    expect(checkPages(MINIPROGRAM_ROOT)).toEqual([]);
  });

  test('WXML compiles with wcc and WXSS with wcsc', () => {
    expect(compileWxml(MINIPROGRAM_ROOT)).toEqual([]);
    expect(compileWxss(MINIPROGRAM_ROOT)).toEqual([]);
  });

  test('the compilers are given every template and stylesheet, found by walking the folder', () => {
    // Nothing lists them by hand: a new page or component is compiled without anyone registering it.
    expect(listFiles(MINIPROGRAM_ROOT, '.wxml')).toEqual(
      expect.arrayContaining(['pages/product-detail/index.wxml', 'components/status/index.wxml']),
    );
    expect(listFiles(MINIPROGRAM_ROOT, '.wxss')).toEqual(
      expect.arrayContaining(['app.wxss', 'pages/product-detail/index.wxss']),
    );
  });
});

describe('the checks catch what DevTools would reject', () => {
  test('the contract copy is the source behind a header, so any change to the source makes it stale', () => {
    const copy = copyOf('export const A = 1;\n');
    expect(copy.endsWith('export const A = 1;\n')).toBe(true);
    expect(copy).toMatch(/^\/\/ GENERATED .* do not edit/);
    expect(copyOf('export const A = 2;\n')).not.toBe(copy);
  });

  test('a contract that imports another module is refused rather than copied broken', () => {
    expect(() => copyOf("import { x } from './x.ts';\nexport const A = x;\n")).toThrow(/self-contained/);
    expect(() => copyOf("export * from './errors.ts';\n")).toThrow(/self-contained/);
    expect(() => copyOf("export type { E } from './errors.ts';\n")).toThrow(/self-contained/);
  });

  test('module specifiers include type imports, re-exports, dynamic imports and require()', () => {
    const source = [
      "import type { A } from '@mp-pay/shared/api';",
      "import { b } from './b';",
      "export { c } from '../c';",
      "const d = require('./d');",
      "void import('./e');",
    ].join('\n');
    expect(moduleSpecifiers(source)).toEqual(['@mp-pay/shared/api', './b', '../c', './d', './e']);
  });

  test('imports escaping the root, bare packages, extensions and missing files are reported', () => {
    const root = fixture({
      'services/x.ts': '',
      'pages/a/index.ts': [
        "import type { Order } from '@mp-pay/shared/api';",
        "import { API_ROUTES } from '../../../../packages/shared/src/api/index';",
        "import { x } from '../../services/x.ts';",
        "import { y } from '../../services/y';",
        "import { ok } from '../../services/x';",
      ].join('\n'),
    });
    const problems = checkTsImports(root, 'pages/a/index.ts', listSource(root, 'pages/a/index.ts'));
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/'@mp-pay\/shared\/api' is not a relative path/);
    expect(problems[1]).toMatch(/points outside the mini-program root/);
    expect(problems[2]).toMatch(/has an extension/);
    expect(problems[3]).toMatch(/'..\/..\/services\/y' does not name a .ts file/);
  });

  test('syntax newer than DevTools may parse is reported with its line', () => {
    const source = [
      "import { a, type B } from './a';",
      'export const n = 15_000;',
      'const c = { x: 1 } satisfies object;',
      'enum E { A }',
      'namespace N {}',
      'class K { accessor f = 1; }',
      "import type { Fine } from './fine';",
      'export const ok = 15000;',
    ].join('\n');
    expect(checkSyntax('x.ts', source)).toEqual([
      "x.ts:1: inline 'type' specifier; use a separate 'import type' / 'export type'",
      'x.ts:2: numeric separator',
      "x.ts:3: 'satisfies' expression",
      'x.ts:4: enum; use a union of string literals',
      'x.ts:5: namespace',
      "x.ts:6: 'accessor' field",
    ]);
  });

  test('the scan of the root (what pnpm lint runs) applies the syntax check on every file, the contract copy included', () => {
    const root = fixture({
      'generated/api.ts': 'export const LIMIT = 10_000;\n',
      'pages/a/index.ts':
        "import { LIMIT } from '../../generated/api';\nComponent({ data: { max: LIMIT } });\n",
    });
    expect(checkReferences(root)).toEqual(['generated/api.ts:1: numeric separator']);
  });

  test('template and usingComponents references outside the root are reported', () => {
    const root = fixture({
      'pages/a/index.wxml': '<import src="../../../shared/tpl.wxml"/><include src="/common/ok.wxml"/>',
      'pages/a/index.json': JSON.stringify({ usingComponents: { x: '../../../../elsewhere/x' } }),
    });
    expect(checkReferences(root)).toEqual([
      "pages/a/index.wxml: '../../../shared/tpl.wxml' points outside the mini-program root",
      "pages/a/index.json: '../../../../elsewhere/x' points outside the mini-program root",
    ]);
  });

  test('a page listed in app.json without its files is reported', () => {
    const root = fixture({
      ...PAGE,
      'app.json': JSON.stringify({ pages: ['pages/a/index', 'pages/b/index'] }),
    });
    expect(checkPages(root)).toEqual([
      'app.json lists pages/b/index but pages/b/index.ts is missing',
      'app.json lists pages/b/index but pages/b/index.wxml is missing',
      'app.json lists pages/b/index but pages/b/index.wxss is missing',
      'app.json lists pages/b/index but pages/b/index.json is missing',
    ]);
  });

  test('wcc accepts a good template and rejects a broken one with its position', () => {
    expect(compileWxml(fixture(PAGE))).toEqual([]);
    const broken = fixture({ ...PAGE, 'pages/a/index.wxml': '<view class="a">\n  <text>{{x}}</view>\n' });
    expect(compileWxml(broken).join('\n')).toMatch(/pages\/a\/index\.wxml:2:.*expect end-tag `text`/);
    const badExpression = fixture({ ...PAGE, 'pages/a/index.wxml': '<view>{{ x + }}</view>\n' });
    expect(compileWxml(badExpression).join('\n')).toMatch(/pages\/a\/index\.wxml:1:/);
  });

  test('wcsc accepts good styles and rejects broken ones with its position', () => {
    expect(compileWxss(fixture(PAGE))).toEqual([]);
    const broken = fixture({ ...PAGE, 'pages/a/index.wxss': '.a { color: red;\n.b { margin: 0 }\n' });
    expect(compileWxss(broken).join('\n')).toMatch(/pages\/a\/index\.wxss\(2:/);
  });
});

function listSource(root: string, file: string): string {
  return readFileSync(join(root, file), 'utf8');
}

describe('the DevTools project folder', () => {
  // DevTools imports apps/miniprogram on its own: its project files may not lean on the monorepo around it.
  const projectDir = join(MINIPROGRAM_ROOT, '..');

  test('tsconfig.json is self-contained and keeps the strict settings', () => {
    const text = readFileSync(join(projectDir, 'tsconfig.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '');
    const tsconfig = JSON.parse(text) as { extends?: string; compilerOptions: Record<string, unknown> };
    expect(tsconfig.extends).toBeUndefined();
    expect(tsconfig.compilerOptions).toMatchObject({ strict: true, noUncheckedIndexedAccess: true });
    expect(tsconfig.compilerOptions.verbatimModuleSyntax).toBeUndefined();
  });

  test('project.config.json points at the mini-program root inside the folder', () => {
    const project = JSON.parse(readFileSync(join(projectDir, 'project.config.json'), 'utf8')) as {
      miniprogramRoot: string;
      compileType: string;
      setting: { useCompilerPlugins: string[] };
    };
    expect(project.compileType).toBe('miniprogram');
    expect(join(projectDir, project.miniprogramRoot)).toBe(join(MINIPROGRAM_ROOT, '/'));
    expect(project.setting.useCompilerPlugins).toContain('typescript');
  });
});
