import { availableParallelism, cpus, totalmem } from 'node:os';

/** What the numbers were measured on; RESULTS.md is meaningless without it. */
export interface Machine {
  date: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  redis: string;
  /** How the shared Redis persists writes (AOF / fsync policy / RDB). */
  redisPersistence: string;
}

export function describeMachine(redisVersion: string, redisPersistence: string): Machine {
  return {
    date: new Date().toISOString(),
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    redis: redisVersion,
    redisPersistence,
  };
}
