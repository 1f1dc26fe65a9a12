import type { Context } from 'koa';
import type { SandboxContext } from '../context.ts';

/**
 * The sandbox's address as a browser reaches it, for the URLs it hands out (mweb_url, h5_url, pages):
 * SANDBOX_PUBLIC_URL when set (a phone on the LAN), else the host the caller used on the plain HTTP listener
 * (the merchant server calls the sandbox at the address the buyer's browser on the same machine reaches too).
 * A call on the mutual-TLS listener names the HTTP one: browsers hold no client certificate.
 */
export function sandboxBaseUrl(sandbox: SandboxContext, ctx: Context): string {
  if (sandbox.config.publicUrl) return sandbox.config.publicUrl;
  const encrypted = (ctx.req.socket as { encrypted?: boolean }).encrypted;
  const host = ctx.host;
  if (encrypted || !host || !/^[A-Za-z0-9.:[\]-]+$/.test(host)) return sandbox.endpoints.url ?? '';
  return `http://${host}`;
}
