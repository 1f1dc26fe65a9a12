import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

/**
 * Registers the Lua scripts in src/store/lua with ioredis `defineCommand`: EVALSHA with an automatic EVAL
 * fallback, so a restarted (or flushed) Redis loads them again by itself. Each script's header documents its
 * KEYS, ARGV and numbered results; src/store/redis/results.ts is the one mapping of those results. A script
 * whose first line is `-- uses: lib/<file>` gets that library in front of it (shared steps written once), and
 * one more ARGV, always the last: the event stream's length cap (lib/transition.lua). On a Cluster client ioredis
 * sends EVALSHA to the node owning the script's keys and loads the script there on NOSCRIPT, node by node.
 */
const SCRIPTS = {
  createOrder: { file: 'create-order.lua', keys: 14 },
  openAttempt: { file: 'open-attempt.lua', keys: 7 },
  setPrepared: { file: 'set-prepared.lua', keys: 2 },
  setScanPrepay: { file: 'set-scan-prepay.lua', keys: 2 },
  markPaid: { file: 'mark-paid.lua', keys: 15 },
  markCombine: { file: 'mark-combine.lua', keys: 15 },
  endAttempt: { file: 'end-attempt.lua', keys: 7 },
  closeAttempt: { file: 'close-attempt.lua', keys: 7 },
  markClosed: { file: 'mark-closed.lua', keys: 12 },
  resolveIdentity: { file: 'resolve-identity.lua', keys: 2 },
  requestRefund: { file: 'request-refund.lua', keys: 6 },
  markRefundSent: { file: 'mark-refund-sent.lua', keys: 6 },
  settleRefund: { file: 'settle-refund.lua', keys: 11 },
  refundRequest: { file: 'refund-request.lua', keys: 1 },
  claimDue: { file: 'claim-due.lua', keys: 2 },
  releaseClaim: { file: 'release-claim.lua', keys: 2 },
  recordExternalRefund: { file: 'record-external-refund.lua', keys: 11 },
  saveReconciliation: { file: 'save-reconciliation.lua', keys: 2 },
  rateLimit: { file: 'rate-limit.lua', keys: 1 },
  answerPaidMessage: { file: 'answer-paid-message.lua', keys: 2 },
  finishPaidMessage: { file: 'finish-paid-message.lua', keys: 3 },
  lockAccessToken: { file: 'lock-access-token.lua', keys: 1 },
  saveAccessToken: { file: 'save-access-token.lua', keys: 2 },
} as const;

export type ScriptName = keyof typeof SCRIPTS;
export type ScriptArg = string | number;
export type Scripts = Record<ScriptName, (...args: ScriptArg[]) => Promise<unknown>>;

const LUA_DIR = new URL('../lua/', import.meta.url);
const USES_RE = /^-- uses: (lib\/[a-z-]+\.lua)\n/;

/** A line of lib/transition.lua: present in the text of every script that uses the library. */
const LIBRARY_MARK = 'local EVENTS_MAX_LEN = ARGV[#ARGV]';

const sources = new Map<ScriptName, string>();
/** The full text sent to Redis for a script (library included). Exported for tests. */
export function scriptSource(name: ScriptName): string {
  let lua = sources.get(name);
  if (lua === undefined) {
    lua = readFileSync(new URL(SCRIPTS[name].file, LUA_DIR), 'utf8');
    const uses = USES_RE.exec(lua);
    if (uses) lua = `${readFileSync(new URL(uses[1] as string, LUA_DIR), 'utf8')}\n${lua}`;
    sources.set(name, lua);
  }
  return lua;
}

export function defineScripts(redis: Redis | Cluster, eventsMaxLen: number): Scripts {
  const out = {} as Scripts;
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    const command = `mppay_${name}`;
    const lua = scriptSource(name);
    redis.defineCommand(command, { numberOfKeys: SCRIPTS[name].keys, lua });
    const fn = (redis as unknown as Record<string, (...args: ScriptArg[]) => Promise<unknown>>)[command];
    if (typeof fn !== 'function') throw new Error(`ioredis did not define ${command}`);
    const bound = fn.bind(redis);
    // The library reads its last ARGV as the stream cap; scripts without it get nothing appended.
    out[name] = lua.includes(LIBRARY_MARK) ? (...args: ScriptArg[]) => bound(...args, eventsMaxLen) : bound;
  }
  return out;
}
