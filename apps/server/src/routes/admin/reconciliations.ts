import { randomUUID } from 'node:crypto';
import type { Router } from '@koa/router';
import type { AppContext } from '../../context.ts';
import { AppError } from '../../errors.ts';
import { adminOf } from '../../http/admin-auth.ts';
import type { AppState } from '../../http/state.ts';
import { inputOf, validate } from '../../http/validate.ts';
import { GatewayError } from '../../gateway/index.ts';
import { ReconcileError, reconcileExclusive, storedReport } from '../../services/reconcile/index.ts';
import { reconciliationRunSchema, reconciliationSchema } from './schemas.ts';

/**
 * The reconciliation reports (docs/reconciliation.md):
 *   GET  /admin/reconciliations/:date          → the stored report of the shop's own bill (JSON); ?mchid= another
 *                                                merchant's (a sub-merchant's)
 *   GET  /admin/reconciliations/:date.csv      → the same as CSV for finance (also ?format=csv)
 *   POST /admin/reconciliations/:date/run      → reconciles the day now, every merchant's bill (one download
 *                                                attempt each) → the shop's own report plus `reports`: all of them
 */
export function reconciliationRoutes(
  app: AppContext,
  router: Router<AppState>,
  admin: Parameters<Router<AppState>['use']>[0],
): void {
  router.get('/reconciliations/:date', admin, validate(reconciliationSchema), async (ctx) => {
    const { params, query } = inputOf(ctx, reconciliationSchema);
    const csv = params.date.endsWith('.csv') || query.format === 'csv';
    const date = params.date.replace(/\.csv$/, '');
    ctx.state.log.info(
      { admin: adminOf(ctx), action: 'read_reconciliation', date, mchid: query.mchid },
      'admin action',
    );
    const stored = await storedReport(app, date, query.mchid);
    if (csv) {
      const name = query.mchid === undefined ? date : `${date}-${query.mchid}`;
      ctx.type = 'text/csv; charset=utf-8';
      ctx.set('Content-Disposition', `attachment; filename="reconciliation-${name}.csv"`);
      ctx.body = stored.csv;
    } else {
      ctx.type = 'application/json; charset=utf-8';
      ctx.body = stored.json;
    }
  });

  router.post('/reconciliations/:date/run', admin, validate(reconciliationRunSchema), async (ctx) => {
    const { params } = inputOf(ctx, reconciliationRunSchema);
    ctx.state.log.info(
      { admin: adminOf(ctx), action: 'run_reconciliation', date: params.date },
      'admin action',
    );
    let result;
    try {
      result = await reconcileExclusive(app, params.date, `admin:${randomUUID()}`, {
        maxAttempts: 1,
        log: ctx.state.log,
      });
    } catch (err) {
      if (err instanceof ReconcileError) {
        if (err.reason === 'bad_date' || err.reason === 'out_of_window') {
          throw new AppError('invalid_request', err.message);
        }
        throw new AppError('service_unavailable', err.message);
      }
      if (err instanceof GatewayError) throw new AppError('wechat_unavailable', err.message);
      throw err;
    }
    if (result === undefined) {
      throw new AppError('service_unavailable', `The reconciliation of ${params.date} is running elsewhere.`);
    }
    // The shop's own report as before (its fields at the top level), and every merchant's in `reports`.
    ctx.body = { ...result.own.report, reports: result.merchants.map((m) => m.report) };
  });
}
