/**
 * The product catalogue (a data file: src/catalog/products.json). Prices come only from here, never from the
 * client: the total of an order is computed on the server.
 */
import { readFileSync } from 'node:fs';
import type { OrderItemInput, OrderLine, Product } from '@mp-pay/shared/api';
import { z } from 'zod';
import { AppError } from '../errors.ts';

const productSchema = z.object({
  id: z.string().regex(/^[a-z0-9-]{1,40}$/),
  name: z.string().min(1).max(60),
  description: z.string().max(200),
  priceFen: z.number().int().positive().max(10_000_000),
  imageUrl: z.string().optional(),
  /** Who sells it: `main` (the shop's own merchant, the default) or a WECHATPAY_SUB_MERCHANTS seller. */
  seller: z
    .string()
    .regex(/^[a-z0-9-]{1,20}$/)
    .optional(),
});
const fileSchema = z.object({ products: z.array(productSchema).min(1) });

export interface PricedOrder {
  lines: OrderLine[];
  totalFen: number;
  /** unifiedorder `body`: at most 127 bytes (docs/protocol.md §3). */
  description: string;
  /** The order's lines per merchant, in catalogue order of first appearance: more than one = a combine. */
  parts: PricedPart[];
}

/** One merchant's share of an order: a combine payment's sub-order (docs/combine.md). */
export interface PricedPart {
  seller: string;
  mchid: string;
  totalFen: number;
  description: string;
}

/** A merchant the catalogue sells for: the shop's own (`main`) or another (WECHATPAY_SUB_MERCHANTS). */
export interface Seller {
  mchid: string;
  name: string;
}

export class Catalog {
  readonly products: readonly Product[];
  readonly #byId: Map<string, Product>;
  readonly #sellerOf: Map<string, string>;

  /**
   * `sellers`: the merchants this configuration can take payments for. Goods of any other seller are not offered
   * (APIv2, or no WECHATPAY_SUB_MERCHANTS: the shop's own goods only).
   */
  constructor(
    products: (Product & { seller?: string })[],
    readonly sellers: ReadonlyMap<string, Seller> = new Map(),
  ) {
    const offered = products.filter((p) => sellers.size === 0 || sellers.has(p.seller ?? 'main'));
    this.#sellerOf = new Map(offered.map((p) => [p.id, p.seller ?? 'main']));
    this.products = Object.freeze(
      offered.map((p) => {
        const { seller: key = 'main', ...product } = p;
        const seller = sellers.get(key);
        return Object.freeze(
          seller === undefined
            ? product
            : { ...product, merchant: { mchid: seller.mchid, name: seller.name } },
        );
      }),
    );
    this.#byId = new Map(this.products.map((p) => [p.id, p]));
  }

  static load(
    sellers: ReadonlyMap<string, Seller> = new Map(),
    url = new URL('../catalog/products.json', import.meta.url),
  ): Catalog {
    const parsed = fileSchema.parse(JSON.parse(readFileSync(url, 'utf8')));
    return new Catalog(
      parsed.products.map((p) => (p.imageUrl === undefined ? omitImage(p) : (p as Product))),
      sellers,
    );
  }

  /** One product by id (the product page); 404 not_found for an unknown one. */
  product(id: string): Product {
    const product = this.#byId.get(id);
    if (!product) throw new AppError('not_found', `Unknown product: ${id}.`);
    return product;
  }

  price(items: readonly OrderItemInput[]): PricedOrder {
    const lines: OrderLine[] = [];
    for (const item of items) {
      const product = this.#byId.get(item.productId);
      if (!product) throw new AppError('product_not_found', `Unknown product: ${item.productId}.`);
      lines.push({
        productId: product.id,
        name: product.name,
        unitPriceFen: product.priceFen,
        quantity: item.quantity,
        subtotalFen: product.priceFen * item.quantity,
      });
    }
    const totalFen = lines.reduce((sum, line) => sum + line.subtotalFen, 0);
    const bySeller = new Map<string, OrderLine[]>();
    for (const line of lines) {
      const seller = this.#sellerOf.get(line.productId) ?? 'main';
      bySeller.set(seller, [...(bySeller.get(seller) ?? []), line]);
    }
    const parts = [...bySeller].map(([seller, own]) => ({
      seller,
      mchid: this.sellers.get(seller)?.mchid ?? '',
      totalFen: own.reduce((sum, line) => sum + line.subtotalFen, 0),
      description: describe(own),
    }));
    return { lines, totalFen, description: describe(lines), parts };
  }
}

/** unifiedorder `body` / v3 `description`: at most 127 bytes (docs/protocol.md §3). */
function describe(lines: readonly OrderLine[]): string {
  const first = lines[0];
  const title =
    first === undefined
      ? 'mp-pay order'
      : lines.length === 1
        ? first.name
        : `${first.name} +${lines.length - 1}`;
  return truncateUtf8(`mp-pay - ${title}`, 127);
}

function omitImage(p: z.infer<typeof productSchema>): Product & { seller?: string } {
  const out: Product & { seller?: string } = {
    id: p.id,
    name: p.name,
    description: p.description,
    priceFen: p.priceFen,
  };
  if (p.seller !== undefined) out.seller = p.seller;
  return out;
}

/** Cuts at a character boundary so the UTF-8 encoding fits in `maxBytes`. */
export function truncateUtf8(text: string, maxBytes: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (bytes + size > maxBytes) break;
    out += ch;
    bytes += size;
  }
  return out;
}
