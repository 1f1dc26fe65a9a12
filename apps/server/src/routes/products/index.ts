import { Router } from '@koa/router';
import { API_ROUTES, type ProductListResponse } from '@mp-pay/shared/api';
import type { AppContext } from '../../context.ts';
import type { AppState } from '../../http/state.ts';

export function productRoutes(app: AppContext): Router<AppState> {
  const router = new Router<AppState>();
  // GET /api/products → the catalogue, prices in fen
  router.get(API_ROUTES.products, (ctx) => {
    const body: ProductListResponse = { products: [...app.catalog.products] };
    ctx.body = body;
  });
  return router;
}
