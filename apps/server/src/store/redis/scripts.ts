import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/**
 * Registers the Lua scripts in src/store/lua with ioredis `defineCommand`: EVALSHA with an automatic EVAL
 * fallback, so a restarted (or flushed) Redis loads them again by itself. Each script's header documents its
 * KEYS, ARGV and numbered results; src/store/redis/results.ts is the one mapping of those results.
 */
const SCRIPTS = {
  createOrder: { file: 'create-order.lua', keys: 5 },
  setPrepay: { file: 'set-prepay.lua', keys: 1 },
  markPaid: { file: 'mark-paid.lua', keys: 6 },
  markClosed: { file: 'mark-closed.lua', keys: 6 },
  claimDue: { file: 'claim-due.lua', keys: 2 },
  finishDue: { file: 'finish-due.lua', keys: 2 },
} as const;

export type ScriptName = keyof typeof SCRIPTS;
export type ScriptArg = string | number;
export type Scripts = Record<ScriptName, (...args: ScriptArg[]) => Promise<unknown>>;

const sources = new Map<ScriptName, string>();
function source(name: ScriptName): string {
  let lua = sources.get(name);
  if (lua === undefined) {
    lua = readFileSync(new URL(`../lua/${SCRIPTS[name].file}`, import.meta.url), 'utf8');
    sources.set(name, lua);
  }
  return lua;
}

export function defineScripts(redis: Redis): Scripts {
  const out = {} as Scripts;
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    const command = `mppay_${name}`;
    redis.defineCommand(command, { numberOfKeys: SCRIPTS[name].keys, lua: source(name) });
    const fn = (redis as unknown as Record<string, (...args: ScriptArg[]) => Promise<unknown>>)[command];
    if (typeof fn !== 'function') throw new Error(`ioredis did not define ${command}`);
    out[name] = fn.bind(redis);
  }
  return out;
}
