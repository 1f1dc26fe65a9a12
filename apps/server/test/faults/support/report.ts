/**
 * Every fault suite ends by printing what it did, so a run shows more than "passed": how many requests it sent,
 * how many faults it injected, and how many state changes it expected versus observed.
 */
export interface FaultCounts {
  requests: number;
  faultsInjected: number;
  stateChangesExpected: number;
  stateChangesObserved: number;
  [detail: string]: number | string;
}

export function printCounts(suite: string, counts: FaultCounts): void {
  const { requests, faultsInjected, stateChangesExpected, stateChangesObserved, ...details } = counts;
  const extra = Object.entries(details)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  console.log(
    `[fault suite] ${suite}: requests=${requests} faults injected=${faultsInjected} ` +
      `state changes expected=${stateChangesExpected} observed=${stateChangesObserved}${extra ? ` (${extra})` : ''}`,
  );
}
