/**
 * What WeChat DevTools will see in miniprogram/, checked here because DevTools is not available in CI:
 * - every page listed in app.json has its .ts, .wxml, .wxss and .json;
 * - every module reference stays inside the mini-program root and names a file DevTools will compile
 *   (relative, no extension, an existing .ts file); DevTools cannot load workspace packages or anything
 *   outside the root, and a bare specifier would need its "npm build", which this project does not use.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const MINIPROGRAM_ROOT = fileURLToPath(new URL('../miniprogram/', import.meta.url));

/** Paths relative to `root`, with forward slashes, sorted. */
export function listFiles(root: string, ext: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(ext))
    .map((f) => f.split(sep).join('/'))
    .sort();
}

export interface AppJson {
  pages: string[];
}

export function readAppJson(root: string): AppJson {
  const parsed = JSON.parse(readFileSync(join(root, 'app.json'), 'utf8')) as { pages?: unknown };
  if (!Array.isArray(parsed.pages) || !parsed.pages.every((p) => typeof p === 'string')) {
    throw new Error('app.json: "pages" must be a list of page paths');
  }
  return { pages: parsed.pages as string[] };
}

/** Problems with the pages listed in app.json (missing files), one message each. */
export function checkPages(root: string): string[] {
  const problems: string[] = [];
  for (const page of readAppJson(root).pages) {
    for (const ext of ['.ts', '.wxml', '.wxss', '.json']) {
      if (!existsSync(join(root, page + ext)))
        problems.push(`app.json lists ${page} but ${page}${ext} is missing`);
    }
  }
  return problems;
}

function isInside(root: string, file: string): boolean {
  const rel = relative(root, file);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel);
}

/** Every module a TS file refers to: imports, re-exports, import types, dynamic import() and require(). */
export function moduleSpecifiers(source: string): string[] {
  const info = ts.preProcessFile(source, true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/** Problems with one TS file's module references, relative to `root`. */
export function checkTsImports(root: string, relFile: string, source: string): string[] {
  const problems: string[] = [];
  const from = join(root, relFile);
  for (const spec of moduleSpecifiers(source)) {
    const where = `${relFile}: '${spec}'`;
    if (!spec.startsWith('./') && !spec.startsWith('../')) {
      problems.push(
        `${where} is not a relative path; DevTools can only load files inside the mini-program root`,
      );
      continue;
    }
    const target = resolve(dirname(from), spec);
    if (!isInside(root, target)) {
      problems.push(`${where} points outside the mini-program root`);
      continue;
    }
    if (/\.(ts|js|mjs|cjs|json)$/.test(spec)) {
      problems.push(
        `${where} has an extension; write it without one, as DevTools resolves compiled .js files`,
      );
      continue;
    }
    if (!existsSync(`${target}.ts`)) problems.push(`${where} does not name a .ts file in the mini-program`);
  }
  return problems;
}

/** Problems with file references in templates (<import>, <include>, <wxs>) and usingComponents. */
export function checkTemplateRefs(root: string, relFile: string, source: string): string[] {
  const problems: string[] = [];
  const refs: string[] = [];
  if (relFile.endsWith('.wxml')) {
    for (const m of source.matchAll(/<(?:import|include|wxs)\b[^>]*\bsrc\s*=\s*["']([^"']+)["']/g))
      refs.push(m[1] ?? '');
  } else if (relFile.endsWith('.json')) {
    const json = JSON.parse(source) as { usingComponents?: Record<string, string> };
    refs.push(...Object.values(json.usingComponents ?? {}));
  }
  for (const ref of refs) {
    // Leading "/" is relative to the mini-program root in DevTools.
    const target = ref.startsWith('/') ? join(root, ref) : resolve(dirname(join(root, relFile)), ref);
    if (!isInside(root, target)) problems.push(`${relFile}: '${ref}' points outside the mini-program root`);
  }
  return problems;
}

/**
 * TypeScript syntax the DevTools plugin may not parse. Its bundled compiler is not pinned and has lagged
 * behind TypeScript, so the mini-program keeps to syntax TypeScript 4.0 already had: no inline `type`
 * import specifiers (4.5), `satisfies` (4.9), `accessor` fields, decorators or `using`; no enums or
 * namespaces, which are not type-only and break per-file compilation; no numeric separators, which some
 * base-library JS engines reject if the plugin passes them through.
 */
export function checkSyntax(relFile: string, source: string): string[] {
  const problems: string[] = [];
  const file = ts.createSourceFile(relFile, source, ts.ScriptTarget.Latest, true);
  const report = (node: ts.Node, what: string) => {
    const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
    problems.push(`${relFile}:${line + 1}: ${what}`);
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportSpecifier(node) || ts.isExportSpecifier(node)) && node.isTypeOnly) {
      report(node, `inline 'type' specifier; use a separate 'import type' / 'export type'`);
    } else if (ts.isSatisfiesExpression(node)) {
      report(node, `'satisfies' expression`);
    } else if (ts.isDecorator(node)) {
      report(node, 'decorator');
    } else if (ts.isEnumDeclaration(node)) {
      report(node, 'enum; use a union of string literals');
    } else if (ts.isModuleDeclaration(node)) {
      report(node, 'namespace');
    } else if (ts.isNumericLiteral(node) && node.getText(file).includes('_')) {
      report(node, 'numeric separator');
    } else if (
      ts.canHaveModifiers(node) &&
      ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.AccessorKeyword)
    ) {
      report(node, `'accessor' field`);
    } else if (ts.isVariableDeclarationList(node) && (node.flags & ts.NodeFlags.Using) !== 0) {
      report(node, `'using' declaration`);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return problems;
}

/** All import, reference and syntax problems under `root`. */
export function checkReferences(root: string): string[] {
  const problems: string[] = [];
  for (const f of listFiles(root, '.ts')) {
    const source = readFileSync(join(root, f), 'utf8');
    problems.push(...checkTsImports(root, f, source), ...checkSyntax(f, source));
  }
  for (const ext of ['.wxml', '.json']) {
    for (const f of listFiles(root, ext)) {
      problems.push(...checkTemplateRefs(root, f, readFileSync(join(root, f), 'utf8')));
    }
  }
  return problems;
}
