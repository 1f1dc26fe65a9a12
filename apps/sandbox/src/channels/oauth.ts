import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { SandboxContext } from '../context.ts';
import { errmsg } from '../login/jscode2session.ts';
import { openidFor } from '../login/codes.ts';
import type { OAuthCode } from '../state.ts';
import { browserUser } from './buyer.ts';
import { errorPage, escapeHtml, renderPage, sendHtml } from './html.ts';

/**
 * Official-account web authorisation (OAuth2), what open.weixin.qq.com and api.weixin.qq.com do for a page
 * opened in WeChat (docs/protocol.md §9, docs/channels.md "The sandbox's stand-ins"). The buyer is the browser's
 * sandbox user (buyer.ts). Codes are single-use and live 5 minutes on the sandbox clock (not scaled: the
 * exchange follows the redirect at once, and POST /sandbox/clock reaches the expiry).
 */
export const OAUTH_CODE_TTL_MS = 5 * 60_000;
const SCOPES = ['snsapi_base', 'snsapi_userinfo'];

const query = (ctx: Context, name: string): string | undefined =>
  typeof ctx.query[name] === 'string' ? (ctx.query[name] as string) : undefined;

/** redirect_uri with code and state appended (state always, as WeChat does; code omitted when denied). */
function back(redirectUri: URL, code: string | undefined, state: string): string {
  const url = new URL(redirectUri);
  if (code !== undefined) url.searchParams.set('code', code);
  url.searchParams.set('state', state);
  return url.toString();
}

/** GET /connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope&state */
export function authorizeRoute(sandbox: SandboxContext) {
  return (ctx: Context): void => {
    const fail = (message: string, detail: string, errcode?: number) =>
      sendHtml(ctx, 200, errorPage('sandbox-oauth-error', message, detail, errcode));
    const appid = query(ctx, 'appid');
    if (!appid) return fail('appid不能为空', 'the appid parameter is missing', 10012);
    if (sandbox.accounts.kind(appid) !== 'official_account') {
      return fail('appid参数错误', `${appid} is not an official account the sandbox knows`);
    }
    const rawRedirect = query(ctx, 'redirect_uri');
    if (!rawRedirect) return fail('redirect_uri参数错误', 'the redirect_uri parameter is missing', 10011);
    let redirectUri: URL;
    try {
      redirectUri = new URL(rawRedirect);
    } catch {
      return fail('redirect_uri参数错误', 'redirect_uri must be an absolute http(s) URL, URL-encoded', 10011);
    }
    if (
      !['http:', 'https:'].includes(redirectUri.protocol) ||
      !sandbox.config.oauthDomains.includes(redirectUri.hostname.toLowerCase())
    ) {
      return fail(
        'redirect_uri域名与后台配置不一致',
        `the host of redirect_uri is not an authorised web domain (SANDBOX_OAUTH_DOMAINS: ${sandbox.config.oauthDomains.join(', ')})`,
        10003,
      );
    }
    if (query(ctx, 'response_type') !== 'code') {
      return fail('response_type参数错误', 'response_type must be code');
    }
    const scope = query(ctx, 'scope') ?? '';
    if (!scope) return fail('scope不能为空', 'the scope parameter is missing', 10010);
    if (!SCOPES.includes(scope)) {
      return fail('scope参数错误或没有scope权限', 'scope must be snsapi_base or snsapi_userinfo', 10005);
    }
    const state = query(ctx, 'state') ?? '';
    const user = browserUser(ctx);
    const code: OAuthCode = {
      code: randomBytes(16).toString('hex'),
      appId: appid,
      openid: openidFor(appid, user),
      user,
      scope,
      expiresAt: sandbox.clock.now() + OAUTH_CODE_TTL_MS,
    };
    sandbox.state.oauthCodes.set(code.code, code);
    if (scope === 'snsapi_base') {
      // Silent: WeChat redirects at once.
      ctx.status = 302;
      ctx.redirect(back(redirectUri, code.code, state));
      return;
    }
    // snsapi_userinfo asks the buyer first.
    sendHtml(
      ctx,
      200,
      renderPage(
        '授权 Authorise',
        `<div class="card" id="sandbox-oauth-consent"><h1>申请获取你的昵称、头像</h1>
<p class="muted">The page at ${escapeHtml(redirectUri.host)} asks for your nickname and avatar.</p>
<a class="button primary" id="sandbox-oauth-allow" href="${escapeHtml(back(redirectUri, code.code, state))}">允许 Allow</a>
<a class="button secondary" id="sandbox-oauth-deny" href="${escapeHtml(back(redirectUri, undefined, state))}">拒绝 Deny</a></div>`,
      ),
    );
  };
}

type Reply = Record<string, string | number>;
const fail = (errcode: number, text: string): Reply => ({ errcode, errmsg: errmsg(text) });

/**
 * GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code → {access_token, expires_in,
 * refresh_token, openid, scope}; errors are HTTP 200 {errcode, errmsg} as in jscode2session. The exchange
 * registers the openid for JSAPI under that AppID.
 */
export function oauthAccessTokenRoute(sandbox: SandboxContext) {
  return (ctx: Context): void => {
    ctx.status = 200;
    ctx.body = exchange(sandbox, (name) => query(ctx, name));
  };
}

function exchange(sandbox: SandboxContext, param: (name: string) => string | undefined): Reply {
  const app = sandbox.accounts.app(param('appid'));
  if (!app) return fail(40013, 'invalid appid');
  if (param('secret') !== app.secret) return fail(40125, 'invalid appsecret');
  if (param('grant_type') !== 'authorization_code') return fail(40002, 'invalid grant_type');
  const value = param('code');
  if (!value) return fail(41008, 'missing code');
  const code = sandbox.state.oauthCodes.get(value);
  const now = sandbox.clock.now();
  if (!code || code.appId !== app.appId || now >= code.expiresAt) return fail(40029, 'invalid code');
  if (code.usedAt !== undefined) return fail(40163, 'code been used');
  code.usedAt = now;
  const issued = `${code.appId}:${code.openid}`;
  sandbox.state.openids.delete(issued);
  sandbox.state.openids.set(issued, code.user);
  return {
    access_token: randomBytes(32).toString('base64url'),
    expires_in: 7200,
    refresh_token: randomBytes(32).toString('base64url'),
    openid: code.openid,
    scope: code.scope,
  };
}
