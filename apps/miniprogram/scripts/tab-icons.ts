/**
 * Draws the tab bar icons (miniprogram/images/tab-*.png) referenced by app.json: a bag (商城), a list (订单)
 * and a person (我的), each gray (#888888, the tab bar's `color`) and green (#07c160, its `selectedColor`).
 * WeChat wants PNG, JPG or JPEG of at most 40 KB for tab icons and recommends 81×81 px; these are 81×81 RGBA
 * PNGs with a transparent background.
 *
 * The shapes are plain geometry, anti-aliased by sampling each pixel 4×4 times, and written with node:zlib (no
 * image library). Run `npx tsx scripts/tab-icons.ts` from apps/miniprogram after changing a shape, and commit
 * the PNGs: DevTools loads them as files, nothing generates them at build time.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

export const ICON_SIZE = 81;
export const TAB_ICONS = ['shop', 'orders', 'me'] as const;
export type TabIcon = (typeof TAB_ICONS)[number];
const COLORS = { gray: [0x88, 0x88, 0x88], green: [0x07, 0xc1, 0x60] } as const;

/** Whether a point (in pixels, 0..81) is inside the shape. */
type Shape = (x: number, y: number) => boolean;

const STROKE = 5;

function inRoundedRectOutline(
  x: number,
  y: number,
  left: number,
  top: number,
  right: number,
  bottom: number,
  radius: number,
  stroke: number,
): boolean {
  return (
    inRoundedRect(x, y, left, top, right, bottom, radius) &&
    !inRoundedRect(
      x,
      y,
      left + stroke,
      top + stroke,
      right - stroke,
      bottom - stroke,
      Math.max(0, radius - stroke),
    )
  );
}

function inRoundedRect(
  x: number,
  y: number,
  left: number,
  top: number,
  right: number,
  bottom: number,
  radius: number,
): boolean {
  if (x < left || x > right || y < top || y > bottom) return false;
  const cx = Math.min(Math.max(x, left + radius), right - radius);
  const cy = Math.min(Math.max(y, top + radius), bottom - radius);
  return (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2;
}

function inRing(x: number, y: number, cx: number, cy: number, r: number, stroke: number): boolean {
  const d = Math.hypot(x - cx, y - cy);
  return d <= r && d >= r - stroke;
}

const SHAPES: Record<TabIcon, Shape> = {
  // A shopping bag: the body, and a handle (the upper half of a ring) above it.
  shop: (x, y) =>
    inRoundedRectOutline(x, y, 14, 28, 67, 72, 6, STROKE) ||
    (y <= 30 && y >= 10 && inRing(x, y, 40.5, 30, 15, STROKE)),
  // A list: a sheet with three lines, each with a bullet.
  orders: (x, y) => {
    if (inRoundedRectOutline(x, y, 14, 9, 67, 72, 6, STROKE)) return true;
    return [27, 40.5, 54].some(
      (ly) => Math.hypot(x - 26, y - ly) <= 3.5 || inRoundedRect(x, y, 33, ly - 2.5, 56, ly + 2.5, 2.5),
    );
  },
  // A person: a head (ring) and shoulders (the top of a larger ring, cut flat at the bottom).
  me: (x, y) =>
    inRing(x, y, 40.5, 27, 14, STROKE) || (y <= 72 && inRing(x, y, 40.5, 78, 30, STROKE) && y <= 74),
};

/** RGBA pixels of one icon: the colour where the shape is, its coverage as alpha. */
export function drawIcon(icon: TabIcon, rgb: readonly number[]): Buffer {
  const shape = SHAPES[icon];
  const pixels = Buffer.alloc(ICON_SIZE * ICON_SIZE * 4);
  const n = 4;
  for (let py = 0; py < ICON_SIZE; py++) {
    for (let px = 0; px < ICON_SIZE; px++) {
      let hits = 0;
      for (let sy = 0; sy < n; sy++)
        for (let sx = 0; sx < n; sx++) if (shape(px + (sx + 0.5) / n, py + (sy + 0.5) / n)) hits += 1;
      const i = (py * ICON_SIZE + px) * 4;
      pixels[i] = rgb[0] ?? 0;
      pixels[i + 1] = rgb[1] ?? 0;
      pixels[i + 2] = rgb[2] ?? 0;
      pixels[i + 3] = Math.round((255 * hits) / (n * n));
    }
  }
  return pixels;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, k) => {
  let c = k;
  for (let i = 0; i < 8; i++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = (CRC_TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

/** A PNG of RGBA pixels (8 bits per channel, no interlacing; each row with filter type 0). */
export function encodePng(width: number, height: number, rgba: Buffer): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // colour type: RGBA
  const rows = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++)
    rgba.copy(rows, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The file name of an icon: tab-shop.png (gray), tab-shop-active.png (green). */
export function iconFile(icon: TabIcon, active: boolean): string {
  return `tab-${icon}${active ? '-active' : ''}.png`;
}

function main(): void {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'miniprogram', 'images');
  mkdirSync(dir, { recursive: true });
  for (const icon of TAB_ICONS) {
    for (const active of [false, true]) {
      const png = encodePng(ICON_SIZE, ICON_SIZE, drawIcon(icon, active ? COLORS.green : COLORS.gray));
      writeFileSync(join(dir, iconFile(icon, active)), png);
      console.log(`wrote images/${iconFile(icon, active)} (${png.length} bytes)`);
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
