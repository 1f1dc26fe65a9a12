/**
 * app.json and sitemap.json: the tab bar names real pages with icons WeChat accepts, code is injected lazily,
 * and only the public catalogue (the shop and the product pages) may be indexed by WeChat search (every other
 * page is the buyer's own).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { MINIPROGRAM_ROOT } from '../../scripts/miniprogram-files.ts';
import { drawIcon, encodePng, ICON_SIZE, iconFile, TAB_ICONS } from '../../scripts/tab-icons.ts';

interface TabItem {
  pagePath: string;
  text: string;
  iconPath?: string;
  selectedIconPath?: string;
}
interface AppJson {
  pages: string[];
  tabBar?: { color: string; selectedColor: string; list: TabItem[] };
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

  test("every tab has an icon and a selected icon: an 81×81 PNG of at most 40 KB (WeChat's limits)", () => {
    const paths = (app.tabBar?.list ?? []).flatMap((t) => [t.iconPath, t.selectedIconPath]);
    expect(paths).toHaveLength(6);
    for (const path of paths) {
      expect(path, 'icon path').toMatch(/^images\/[\w-]+\.png$/);
      const file = join(MINIPROGRAM_ROOT, path ?? '');
      expect(existsSync(file), file).toBe(true);
      expect(statSync(file).size).toBeLessThanOrEqual(40 * 1024);
      const png = readFileSync(file);
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      // The first chunk is IHDR: width and height right after its type.
      expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([81, 81]);
    }
  });

  test("the committed icons are what scripts/tab-icons.ts draws, in the tab bar's two colours", () => {
    const hex = (rgb: string) => [1, 3, 5].map((i) => parseInt(rgb.slice(i, i + 2), 16));
    expect(app.tabBar?.color).toBe('#888888');
    expect(app.tabBar?.selectedColor).toBe('#07c160');
    for (const icon of TAB_ICONS) {
      for (const active of [false, true]) {
        const color = hex(active ? '#07c160' : '#888888');
        const drawn = encodePng(ICON_SIZE, ICON_SIZE, drawIcon(icon, color));
        const committed = readFileSync(join(MINIPROGRAM_ROOT, 'images', iconFile(icon, active)));
        expect(
          committed.equals(drawn),
          `${iconFile(icon, active)} is stale: npx tsx scripts/tab-icons.ts`,
        ).toBe(true);
      }
    }
    expect(app.tabBar?.list.map((t) => t.iconPath)).toEqual(
      TAB_ICONS.map((i) => `images/${iconFile(i, false)}`),
    );
    expect(app.tabBar?.list.map((t) => t.selectedIconPath)).toEqual(
      TAB_ICONS.map((i) => `images/${iconFile(i, true)}`),
    );
  });

  test('components are injected lazily', () => {
    expect(app.lazyCodeLoading).toBe('requiredComponents');
  });
});

describe('sitemap.json', () => {
  test('only the catalogue (shop and product pages) is indexed; every login-only page is not', () => {
    expect(app.pages.filter(indexed)).toEqual(['pages/products/index', 'pages/product-detail/index']);
  });

  test('a page added later is not indexed unless someone allows it', () => {
    expect(indexed('pages/some-new-page/index')).toBe(false);
  });
});
