/**
 * app.json and sitemap.json: the tab bar names real pages, code is injected lazily, and only the public
 * catalogue may be indexed by WeChat search (every other page is the buyer's own).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { MINIPROGRAM_ROOT } from '../../scripts/miniprogram-files.ts';

interface AppJson {
  pages: string[];
  tabBar?: { list: { pagePath: string; text: string }[] };
  lazyCodeLoading?: string;
}
interface Sitemap {
  rules: { action: 'allow' | 'disallow'; page: string }[];
}

const app = JSON.parse(readFileSync(join(MINIPROGRAM_ROOT, 'app.json'), 'utf8')) as AppJson;
const sitemap = JSON.parse(readFileSync(join(MINIPROGRAM_ROOT, 'sitemap.json'), 'utf8')) as Sitemap;

/** What WeChat does with a page: the first rule that matches it (exact page or "*") decides. */
function indexed(page: string): boolean {
  const rule = sitemap.rules.find((r) => r.page === page || r.page === '*');
  return rule?.action !== 'disallow';
}

describe('app.json', () => {
  test('a tab bar of shop, orders and me, each a listed page, the first page being the shop', () => {
    expect(app.tabBar?.list.map((t) => [t.pagePath, t.text])).toEqual([
      ['pages/products/index', '商城'],
      ['pages/orders/index', '订单'],
      ['pages/me/index', '我的'],
    ]);
    for (const tab of app.tabBar?.list ?? []) expect(app.pages).toContain(tab.pagePath);
    expect(app.pages[0]).toBe('pages/products/index');
  });

  test('components are injected lazily', () => {
    expect(app.lazyCodeLoading).toBe('requiredComponents');
  });
});

describe('sitemap.json', () => {
  test('only the catalogue is indexed; every login-only page is not', () => {
    expect(app.pages.filter(indexed)).toEqual(['pages/products/index']);
  });

  test('a page added later is not indexed unless someone allows it', () => {
    expect(indexed('pages/some-new-page/index')).toBe(false);
  });
});
