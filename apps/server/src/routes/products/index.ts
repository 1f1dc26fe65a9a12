import { Router } from '@koa/router';
import { API_ROUTES, type ProductListResponse, type ProductResponse } from '@mp-pay/shared/api';
import type { AppContext } from '../../context.ts';
import type { AppState } from '../../http/state.ts';
import { inputOf, validate } from '../../http/validate.ts';
import { productIdSchema } from './schemas.ts';

export function productRoutes(app: AppContext): Router<AppState> {
  const router = new Router<AppState>();
  // GET /api/products → the catalogue, prices in fen
  router.get(API_ROUTES.products, (ctx) => {
    const body: ProductListResponse = { products: [...app.catalog.products] };
    ctx.body = body;
  });
  // GET /api/products/:id → one product (the mini-program's product page); 404 product_not_found
  router.get(`${API_ROUTES.products}/:id`, validate(productIdSchema), (ctx) => {
    const { params } = inputOf(ctx, productIdSchema);
    const body: ProductResponse = { product: app.catalog.product(params.id) };
    ctx.body = body;
  });
  return router;
}
