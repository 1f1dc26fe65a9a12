/**
 * Every event binding in a template names a method of its component. A typo in bindtap renders fine and
 * does nothing when tapped, in DevTools as in tests, so it is checked for every page here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, inject, test } from 'vitest';
import { MINIPROGRAM_ROOT, readAppJson } from '../../scripts/miniprogram-files.ts';
import { openBuilt } from '../support/built.ts';

const built = openBuilt(inject('miniprogramRoot'));
const g = globalThis as { Component?: unknown; Behavior?: unknown };
afterAll(() => {
  delete g.Component;
  delete g.Behavior;
  built.reset();
});

interface Options {
  methods?: Record<string, unknown>;
  behaviors?: Options[];
}

/**
 * The component options a page registers, captured with a stand-in Component(), with the methods its behaviors
 * (Behavior(), e.g. behaviors/paid-message) bring in, as WeChat merges them.
 */
function componentOptions(page: string): { methods?: Record<string, unknown> } {
  let captured: Options | undefined;
  g.Behavior = (options: Options) => options;
  g.Component = (options: Options) => {
    captured = options;
  };
  built.reset();
  built.load(`${page}.js`);
  if (!captured) throw new Error(`${page} did not call Component()`);
  const inherited = (captured.behaviors ?? []).map((b) => b.methods ?? {});
  return { methods: Object.assign({}, ...inherited, captured.methods) };
}

function bindings(wxml: string): string[] {
  return [
    ...wxml.matchAll(/\b(?:bind|catch|capture-bind|capture-catch|mut-bind):?[a-z]+\s*=\s*"([^"{}]+)"/g),
  ].map((m) => m[1] ?? '');
}

test('the binding scan finds handlers in all binding forms', () => {
  expect(
    bindings('<a bindtap="x"/><b catch:tap="y"/><c bindlongpress = "z"/><d bindtap="{{dyn}}"/>'),
  ).toEqual(['x', 'y', 'z']);
});

test.each(readAppJson(MINIPROGRAM_ROOT).pages)('%s: every bound handler exists', (page) => {
  const wxml = readFileSync(join(MINIPROGRAM_ROOT, `${page}.wxml`), 'utf8');
  const handlers = bindings(wxml);
  const methods = componentOptions(page).methods ?? {};
  const missing = handlers.filter((h) => typeof methods[h] !== 'function');
  expect(missing).toEqual([]);
  // Every page has something to tap; an empty scan would mean the pattern stopped matching.
  expect(handlers.length).toBeGreaterThan(0);
});

/**
 * WeChat only calls onPullDownRefresh when the page JSON sets enablePullDownRefresh: a handler without the
 * flag is dead code, the flag without a handler a spinner that never stops.
 */
test.each(readAppJson(MINIPROGRAM_ROOT).pages)('%s: pull-down refresh is wired by the page JSON', (page) => {
  const json = JSON.parse(readFileSync(join(MINIPROGRAM_ROOT, `${page}.json`), 'utf8')) as {
    enablePullDownRefresh?: boolean;
  };
  const methods = componentOptions(page).methods ?? {};
  expect(json.enablePullDownRefresh === true).toBe(typeof methods.onPullDownRefresh === 'function');
});

test('the pages that list or show server data refresh on pull-down', () => {
  for (const page of ['pages/orders/index', 'pages/product-detail/index']) {
    const json = JSON.parse(readFileSync(join(MINIPROGRAM_ROOT, `${page}.json`), 'utf8')) as {
      enablePullDownRefresh?: boolean;
    };
    expect(json.enablePullDownRefresh, page).toBe(true);
  }
});

test.each(['components/status/index'])('%s: every bound handler exists', (component) => {
  const wxml = readFileSync(join(MINIPROGRAM_ROOT, `${component}.wxml`), 'utf8');
  const handlers = bindings(wxml);
  const methods = componentOptions(component).methods ?? {};
  expect(handlers.filter((h) => typeof methods[h] !== 'function')).toEqual([]);
  expect(handlers.sort()).toEqual(['onAction', 'onRetry']);
});
