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
});
const fileSchema = z.object({ products: z.array(productSchema).min(1) });

export interface PricedOrder {
  lines: OrderLine[];
  totalFen: number;
  /** unifiedorder `body`: at most 127 bytes (docs/protocol.md §3). */
  description: string;
}

export class Catalog {
  readonly products: readonly Product[];
  readonly #byId: Map<string, Product>;

  constructor(products: Product[]) {
    this.products = Object.freeze(products.map((p) => Object.freeze({ ...p })));
    this.#byId = new Map(this.products.map((p) => [p.id, p]));
  }

  static load(url = new URL('../catalog/products.json', import.meta.url)): Catalog {
    const parsed = fileSchema.parse(JSON.parse(readFileSync(url, 'utf8')));
    return new Catalog(
      parsed.products.map((p) => (p.imageUrl === undefined ? omitImage(p) : (p as Product))),
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
    const first = lines[0];
    const title =
      first === undefined
        ? 'mp-pay order'
        : lines.length === 1
          ? first.name
          : `${first.name} +${lines.length - 1}`;
    return { lines, totalFen, description: truncateUtf8(`mp-pay - ${title}`, 127) };
  }
}

function omitImage(p: z.infer<typeof productSchema>): Product {
  return { id: p.id, name: p.name, description: p.description, priceFen: p.priceFen };
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
