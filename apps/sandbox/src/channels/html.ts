import type { Context } from 'koa';

/**
 * The sandbox's pages (OAuth errors, H5 cashier, scanner): small server-rendered strings, every value escaped,
 * no external asset, sized for a phone. Element ids are stable: browser tests drive them.
 */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** `¥12.34` from fen. */
export function yuan(fen: number): string {
  return `¥${(fen / 100).toFixed(2)}`;
}

const STYLE = `
body{margin:0;font:16px/1.5 -apple-system,"PingFang SC","Helvetica Neue",Arial,sans-serif;background:#ededed;color:#111}
main{max-width:420px;margin:0 auto;padding:24px 16px}
.card{background:#fff;border-radius:8px;padding:24px 16px;text-align:center}
.amount{font-size:36px;font-weight:600;margin:8px 0}
.muted{color:#888;font-size:14px}
.error{color:#fa5151}
button,.button{display:block;width:100%;box-sizing:border-box;margin-top:16px;padding:12px;border:0;border-radius:6px;font-size:17px;text-decoration:none;text-align:center}
.primary{background:#07c160;color:#fff}.secondary{background:#f2f2f2;color:#111}
.sandbox{margin-top:24px;text-align:center;color:#aaa;font-size:12px}
`;

/**
 * A complete page. `body` is trusted markup built with escapeHtml; `script` (optional) is inline code the
 * sandbox wrote, with values passed through JSON.stringify and `<` escaped.
 */
export function renderPage(title: string, body: string, script = ''): string {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main>${body}<p class="sandbox">mp-pay sandbox · 本地微信模拟 · a local stand-in for WeChat</p></main>${
    script ? `<script>${script}</script>` : ''
  }</body></html>`;
}

/** JSON for an inline script: `<` escaped so no value can close the script element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replaceAll('<', '\\u003c');
}

export function sendHtml(ctx: Context, status: number, html: string): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = html;
}

/** WeChat's error page: a title, the message, and the errcode when WeChat shows one. */
export function errorPage(id: string, message: string, detail: string, errcode?: number): string {
  return renderPage(
    message,
    `<div class="card" id="${escapeHtml(id)}"><h1 class="error">${escapeHtml(message)}</h1>${
      errcode === undefined
        ? ''
        : `<p class="muted">errcode: <span id="sandbox-errcode">${errcode}</span></p>`
    }<p class="muted">${escapeHtml(detail)}</p></div>`,
  );
}
