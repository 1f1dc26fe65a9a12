import { z } from 'zod';

/** Catalogue ids are lower-case words and dashes (services/catalog.ts); anything else cannot be a product. */
export const productIdSchema = z.object({
  params: z.object({ id: z.string().regex(/^[a-z0-9-]{1,40}$/, 'not a product id') }),
});
