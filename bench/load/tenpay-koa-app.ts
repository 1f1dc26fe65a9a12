/**
 * The peer baseline: how a typical Node merchant backend handles WeChat Pay notifications with `tenpay`
 * (its README's Koa setup): a raw-body reader, `tenpay.middleware('pay')` (xml2js parse, appid/mch_id/sign
 * checks), then the app's own update, here a trivial in-memory one (pending → paid, amount checked). No
 * database, no durability: it bounds from above what such a stack can do on this machine.
 *
 * Usage (run by bench/run.ts as a child process): tenpay-koa-app.ts <runId> <orderCount>
 * Prints `READY <url>`; GET /stats answers {paid, refused}.
 */
import { createServer } from 'node:http';
import Koa from 'koa';
import Payment from 'tenpay';
import { SANDBOX_DEMO } from '@mp-pay/shared/wechatpay';
import { amountFor, orderNo } from '../lib/workload.ts';

const [runId = 'bench', countText = '0'] = process.argv.slice(2);
const orders = new Map<string, { totalFen: number; paid: boolean }>();
for (let i = 0; i < Number(countText); i++)
  orders.set(orderNo(runId, i), { totalFen: amountFor(i), paid: false });

const tenpay = new Payment({
  appid: SANDBOX_DEMO.appId,
  mchid: SANDBOX_DEMO.mchId,
  partnerKey: SANDBOX_DEMO.key,
});
const stats = { paid: 0, refused: 0 };
const MAX_BODY = 64 * 1024;

const app = new Koa();

// tenpay wants the raw XML string in ctx.request.body (its README pairs it with koa-xml-body or similar).
app.use(async (ctx, next) => {
  if (ctx.method !== 'POST') return next();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) ctx.throw(413);
    chunks.push(chunk);
  }
  (ctx.request as unknown as { body: string }).body = Buffer.concat(chunks).toString('utf8');
  return next();
});

const notify = tenpay.middleware('pay');
type NotifyContext = Koa.Context & { reply(msg?: string): void; request: { weixin: Record<string, string> } };

app.use(async (ctx, next) => {
  if (ctx.method === 'GET' && ctx.path === '/stats') {
    ctx.body = stats;
    return;
  }
  if (ctx.method !== 'POST' || ctx.path !== '/wechatpay/notify') return next();
  await notify(ctx, async () => {
    const c = ctx as NotifyContext;
    const info = c.request.weixin;
    const order = orders.get(info.out_trade_no ?? '');
    if (!order || Number(info.total_fee) !== order.totalFen) {
      stats.refused++;
      return c.reply('order not found or amount mismatch');
    }
    if (!order.paid) {
      order.paid = true;
      stats.paid++;
    }
    c.reply();
  });
});

const server = createServer(app.callback());
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') console.log(`READY http://127.0.0.1:${address.port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
