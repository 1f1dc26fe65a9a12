import { readFileSync } from 'node:fs';

/**
 * CPU used by processes during a run, in cores (1.0 = one core busy the whole time), from /proc/<pid>/stat.
 * It is how RESULTS.md explains a number: on a 2-core machine the server, Redis and the load generator share
 * two cores, and whichever one sits at 1.0 is the bottleneck.
 */
const TICKS_PER_SECOND = 100; // USER_HZ; 100 on every mainstream Linux build

function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (1-based).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** Busy ticks of the whole machine (all processes, all cores), from the aggregate line of /proc/stat. */
function machineBusyTicks(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, ...values] = line.trim().split(/\s+/);
    const ticks = values.map(Number);
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    return total - (ticks[3] ?? 0) - (ticks[4] ?? 0); // minus idle and iowait
  } catch {
    return undefined;
  }
}

export type CpuShares = Record<string, number | undefined>;

/** Key under which measureCpu reports everything else the machine was doing meanwhile. */
export const OTHER = 'other processes';

export async function measureCpu<T>(
  pids: Record<string, number | undefined>,
  work: () => Promise<T>,
): Promise<{ result: T; cores: CpuShares }> {
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, pid && cpuTicks(pid)]));
  const machineBefore = machineBusyTicks();
  const started = process.hrtime.bigint();
  const result = await work();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const machineAfter = machineBusyTicks();
  const cores: CpuShares = {};
  let measured = 0;
  for (const [name, pid] of Object.entries(pids)) {
    const a = before[name];
    const b = pid ? cpuTicks(pid) : undefined;
    cores[name] = a === undefined || b === undefined ? undefined : (b - a) / TICKS_PER_SECOND / seconds;
    measured += cores[name] ?? 0;
  }
  if (machineBefore !== undefined && machineAfter !== undefined) {
    const machine = (machineAfter - machineBefore) / TICKS_PER_SECOND / seconds;
    cores[OTHER] = Math.max(0, machine - measured);
  }
  return { result, cores };
}
