import type { Context } from 'koa';
import { z } from 'zod';
import { V3_KEY_MODES } from '../config.ts';
import type { SandboxContext } from '../context.ts';
import { NOT_A_JSON_OBJECT, readJsonObject } from '../http/body.ts';
import { sendJsonError } from '../http/json.ts';

const keyModeSchema = z
  .object({
    mch_id: z.string().min(1).optional(),
    mode: z.enum(V3_KEY_MODES),
    /** Migration: share of notifications signed with the public key (0..1); unchanged when absent. */
    public_key_share: z.number().min(0).max(1).optional(),
  })
  .strict();

function mchIdOf(ctx: Context, sandbox: SandboxContext): string {
  return typeof ctx.query.mch_id === 'string' ? ctx.query.mch_id : sandbox.config.mchId;
}

/**
 * GET /sandbox/v3/public-key[?mch_id=] → what the merchant console shows: the WeChat Pay public key and its id
 * (and, in certificate or migration mode, the platform certificate and its serial).
 * GET/POST /sandbox/v3/key-mode: a merchant's signing mode (public-key, certificate, migration).
 */
export function v3ControlRoutes(sandbox: SandboxContext) {
  const showMode = (ctx: Context, mchId: string) => {
    const setting = sandbox.keyModes.for(mchId);
    ctx.body = { mch_id: mchId, mode: setting.mode, public_key_share: setting.publicKeyShare };
  };
  return {
    publicKey(ctx: Context): void {
      const mchId = mchIdOf(ctx, sandbox);
      if (!sandbox.accounts.merchant(mchId)) {
        return sendJsonError(ctx, 404, 'UNKNOWN_MCH_ID', `the sandbox has no merchant ${mchId}`);
      }
      const { mode } = sandbox.keyModes.for(mchId);
      const { platform } = sandbox;
      ctx.body = {
        mode,
        public_key_id: platform.publicKeyId,
        public_key: platform.publicKeyPem,
        ...(mode === 'public-key'
          ? {}
          : {
              platform_certificate_serial: platform.certSerial,
              platform_certificate: platform.certificatePem,
            }),
      };
    },
    showKeyMode(ctx: Context): void {
      showMode(ctx, mchIdOf(ctx, sandbox));
    },
    async setKeyMode(ctx: Context): Promise<void> {
      const body = await readJsonObject(ctx);
      if (body === undefined) return sendJsonError(ctx, 400, 'BAD_REQUEST', NOT_A_JSON_OBJECT);
      const parsed = keyModeSchema.safeParse(body);
      if (!parsed.success) return sendJsonError(ctx, 400, 'BAD_REQUEST', z.prettifyError(parsed.error));
      const mchId = parsed.data.mch_id ?? sandbox.config.mchId;
      if (!sandbox.accounts.merchant(mchId)) {
        return sendJsonError(ctx, 404, 'UNKNOWN_MCH_ID', `the sandbox has no merchant ${mchId}`);
      }
      sandbox.keyModes.set(mchId, {
        mode: parsed.data.mode,
        publicKeyShare: parsed.data.public_key_share ?? sandbox.keyModes.for(mchId).publicKeyShare,
      });
      showMode(ctx, mchId);
    },
  };
}
