import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { SandboxContext } from '../context.ts';
import { NOT_A_JSON_OBJECT, readJsonObject } from '../http/body.ts';
import { sendJsonError } from '../http/json.ts';
import { errmsg } from '../login/jscode2session.ts';
import { ACCESS_TOKEN_TTL_S, SubscribeDesk, TEMPLATES, type Template } from './desk.ts';

type Reply = Record<string, string | number>;
const fail = (errcode: number, text: string): Reply => ({ errcode, errmsg: errmsg(text) });

const MINIPROGRAM_STATES = ['developer', 'trial', 'formal'];
const LANGS = ['zh_CN', 'en_US', 'zh_HK', 'zh_TW'];
/** A page of the mini-program: a relative path (no leading slash), optionally with a query string. */
const PAGE_RE = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_.-]+)*(\?[^#\s]{0,900})?$/;

/** What each keyword kind accepts (WeChat's subscribe-message value rules, simplified but strict). */
const VALUE_RULES: Record<string, (value: string) => boolean> = {
  thing: (v) => [...v].length >= 1 && [...v].length <= 20,
  amount: (v) => /^[¥￥]?\d{1,10}(\.\d{1,2})?元?$/.test(v),
  character_string: (v) => /^[\x21-\x7e]{1,32}$/.test(v),
  number: (v) => /^\d{1,32}(\.\d{1,10})?$/.test(v),
  phrase: (v) => /^[\u4e00-\u9fa5]{1,5}$/.test(v),
  time: (v) =>
    /^(\d{4}年\d{1,2}月\d{1,2}日 )?\d{1,2}:\d{2}$/.test(v) ||
    /^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$/.test(v) ||
    /^\d{4}年\d{1,2}月\d{1,2}日$/.test(v),
};

/** The kind of a keyword name (`thing1` → thing, `character_string3` → character_string). */
function kindOf(keyword: string): string {
  return keyword.replace(/\d+$/, '');
}

/**
 * GET /cgi-bin/token: the app's access token. Checks appid, secret, grant_type like WeChat; every call issues a
 * new token and leaves the previous one working 5 more minutes at most (desk.ts).
 */
function tokenRoute(sandbox: SandboxContext, desk: SubscribeDesk) {
  return (ctx: Context): void => {
    const param = (name: string) =>
      typeof ctx.query[name] === 'string' ? (ctx.query[name] as string) : undefined;
    ctx.status = 200;
    const app = sandbox.accounts.app(param('appid'));
    if (!app) return void (ctx.body = fail(40013, 'invalid appid'));
    if (param('secret') !== app.secret) return void (ctx.body = fail(40125, 'invalid appsecret'));
    if (param('grant_type') !== 'client_credential') {
      return void (ctx.body = fail(40002, 'invalid grant_type'));
    }
    const record = desk.issueToken(app.appId, sandbox.clock.now());
    ctx.body = { access_token: record.token, expires_in: ACCESS_TOKEN_TTL_S };
  };
}

/**
 * POST /cgi-bin/message/subscribe/send?access_token=: the checks in WeChat's order (token, body, openid,
 * template, page, data, consent); a success uses up one consent and is kept for GET /sandbox/subscribe/messages.
 */
function sendRoute(sandbox: SandboxContext, desk: SubscribeDesk) {
  return async (ctx: Context): Promise<void> => {
    ctx.status = 200;
    if (ctx.method !== 'POST') return void (ctx.body = fail(43002, 'require POST method'));
    const token = typeof ctx.query.access_token === 'string' ? ctx.query.access_token : '';
    if (!token) return void (ctx.body = fail(41001, 'access_token missing'));
    const now = sandbox.clock.now();
    const record = desk.tokens.get(token);
    if (!record) {
      return void (ctx.body = fail(40001, 'invalid credential, access_token is invalid or not latest'));
    }
    if (now >= record.expiresAt) return void (ctx.body = fail(42001, 'access_token expired'));
    const body = await readJsonObject(ctx);
    if (body === undefined) return void (ctx.body = fail(47001, 'data format error'));
    ctx.body = send(sandbox, desk, record.appId, body, now);
  };
}

function send(
  sandbox: SandboxContext,
  desk: SubscribeDesk,
  appId: string,
  body: Record<string, unknown>,
  now: number,
): Reply {
  const { touser, template_id: templateId, page, data } = body;
  const state = body.miniprogram_state ?? 'formal';
  const lang = body.lang ?? 'zh_CN';
  if (typeof touser !== 'string' || !sandbox.state.openids.has(`${appId}:${touser}`)) {
    return fail(40003, 'invalid openid');
  }
  const template = sandbox.accounts.kind(appId) === 'miniprogram' ? desk.template(templateId) : undefined;
  if (typeof templateId !== 'string' || !template) return fail(40037, 'invalid template_id');
  if (page !== undefined && (typeof page !== 'string' || page.length > 1024 || !PAGE_RE.test(page))) {
    return fail(41030, 'invalid page');
  }
  if (typeof state !== 'string' || !MINIPROGRAM_STATES.includes(state)) {
    return fail(47001, 'data format error: miniprogram_state must be developer, trial or formal');
  }
  if (typeof lang !== 'string' || !LANGS.includes(lang))
    return fail(47001, 'data format error: invalid lang');
  const values = dataProblem(template, data);
  if (typeof values === 'string') return fail(47003, values);
  const consent = desk.consent(appId, touser, templateId);
  if (!consent || consent.remaining <= 0) return fail(43101, 'user refuse to accept the msg');
  consent.remaining -= 1;
  const delivered = desk.deliver({
    appid: appId,
    touser,
    template_id: templateId,
    ...(typeof page === 'string' ? { page } : {}),
    data: values,
    miniprogram_state: state,
    lang,
    sent_at: new Date(now).toISOString(),
  });
  return { errcode: 0, errmsg: 'ok', msgid: delivered.msgid };
}

/** The data as stored, or 47003's errmsg naming the first keyword that is wrong. */
function dataProblem(template: Template, data: unknown): Record<string, { value: string }> | string {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return 'argument invalid! data is empty';
  const entries = data as Record<string, unknown>;
  for (const key of Object.keys(entries)) {
    if (!template.keywords.includes(key)) return `argument invalid! data.${key} not exist in template`;
  }
  const out: Record<string, { value: string }> = {};
  for (const keyword of template.keywords) {
    const entry = entries[keyword];
    const value =
      typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>).value : undefined;
    if (typeof value !== 'string' || value === '') return `argument invalid! data.${keyword}.value is empty`;
    const rule = VALUE_RULES[kindOf(keyword)];
    if (rule && !rule(value)) return `argument invalid! data.${keyword}.value invalid`;
    out[keyword] = { value };
  }
  return out;
}

const consentSchema = z
  .object({
    appid: z.string().min(1),
    openid: z.string().min(1),
    template_id: z.string().min(1),
    answer: z.enum(['accept', 'reject', 'ban', 'filter']),
  })
  .strict();

const expireSchema = z.object({ appid: z.string().min(1) }).strict();

/**
 * Registers WeChat's two paths and the sandbox's controls (README.md "Subscribe messages"):
 *   GET  /cgi-bin/token, POST /cgi-bin/message/subscribe/send      as WeChat
 *   POST /sandbox/subscribe/consents {appid, openid, template_id, answer}   what wx.requestSubscribeMessage grants
 *   GET  /sandbox/subscribe/consents?appid=&openid=                 sends still allowed, per template
 *   GET  /sandbox/subscribe/messages?openid=[&appid=]               the messages delivered, oldest first
 *   GET  /sandbox/subscribe/templates                               the templates and their keywords
 *   POST /sandbox/subscribe/tokens/expire {appid}                   fault: every token of the app expires now
 */
export function registerSubscribeMessages(router: Router, sandbox: SandboxContext): void {
  const desk = new SubscribeDesk();
  router.get('/cgi-bin/token', tokenRoute(sandbox, desk));
  // WeChat answers any method here with an errcode (43002 for a GET), not an HTTP 405.
  router.all('/cgi-bin/message/subscribe/send', sendRoute(sandbox, desk));

  router.post('/sandbox/subscribe/consents', async (ctx) => {
    const body = await readJsonObject(ctx);
    if (body === undefined) return sendJsonError(ctx, 400, 'BAD_REQUEST', NOT_A_JSON_OBJECT);
    const parsed = consentSchema.safeParse(body);
    if (!parsed.success) return sendJsonError(ctx, 400, 'BAD_REQUEST', z.prettifyError(parsed.error));
    const { appid, openid, template_id: templateId, answer } = parsed.data;
    if (sandbox.accounts.kind(appid) !== 'miniprogram') {
      return sendJsonError(ctx, 404, 'UNKNOWN_APPID', `the sandbox has no mini-program ${appid}`);
    }
    if (!sandbox.state.openids.has(`${appid}:${openid}`)) {
      return sendJsonError(
        ctx,
        404,
        'UNKNOWN_OPENID',
        `no buyer of ${appid} has openid ${openid} (POST /sandbox/login-codes issues one)`,
      );
    }
    // wx.requestSubscribeMessage refuses unknown template ids before showing anything.
    if (!desk.template(templateId)) {
      return sendJsonError(
        ctx,
        404,
        'UNKNOWN_TEMPLATE',
        `no template ${templateId} (GET /sandbox/subscribe/templates)`,
      );
    }
    const consent = desk.answer(appid, openid, templateId, answer, sandbox.clock.now());
    ctx.status = 201;
    ctx.body = {
      errMsg: 'requestSubscribeMessage:ok',
      [templateId]: answer,
      remaining: consent.remaining,
    };
  });
  router.get('/sandbox/subscribe/consents', (ctx) => {
    const appid = typeof ctx.query.appid === 'string' ? ctx.query.appid : '';
    const openid = typeof ctx.query.openid === 'string' ? ctx.query.openid : '';
    if (!appid || !openid) return sendJsonError(ctx, 400, 'BAD_REQUEST', 'give ?appid=&openid=');
    ctx.body = {
      consents: TEMPLATES.flatMap((t) => {
        const c = desk.consent(appid, openid, t.id);
        return c ? [{ template_id: t.id, remaining: c.remaining, last_answer: c.lastAnswer }] : [];
      }),
    };
  });
  router.get('/sandbox/subscribe/messages', (ctx) => {
    const openid = typeof ctx.query.openid === 'string' ? ctx.query.openid : '';
    const appid = typeof ctx.query.appid === 'string' ? ctx.query.appid : undefined;
    if (!openid) return sendJsonError(ctx, 400, 'BAD_REQUEST', 'give ?openid= (and optionally &appid=)');
    ctx.body = {
      messages: [...desk.messages.values()].filter(
        (m) => m.touser === openid && (appid === undefined || m.appid === appid),
      ),
    };
  });
  router.get('/sandbox/subscribe/templates', (ctx) => {
    ctx.body = {
      templates: TEMPLATES.map((t) => ({ template_id: t.id, title: t.title, keywords: t.keywords })),
    };
  });
  router.post('/sandbox/subscribe/tokens/expire', async (ctx) => {
    const body = await readJsonObject(ctx);
    if (body === undefined) return sendJsonError(ctx, 400, 'BAD_REQUEST', NOT_A_JSON_OBJECT);
    const parsed = expireSchema.safeParse(body);
    if (!parsed.success) return sendJsonError(ctx, 400, 'BAD_REQUEST', z.prettifyError(parsed.error));
    ctx.body = { expired: desk.expireTokens(parsed.data.appid, sandbox.clock.now()) };
  });
}
