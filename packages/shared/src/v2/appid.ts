/**
 * The AppID check of every message WeChat sends us (notifications, Native scans): one AppID, or every AppID
 * bound to the merchant (mini-program, official account, app share one notify URL). Internal to v2.
 */
export type ExpectedAppId = string | ReadonlySet<string> | readonly string[];

export function isExpectedAppId(expected: ExpectedAppId, appid: string | undefined): boolean {
  if (appid === undefined) return false;
  if (typeof expected === 'string') return appid === expected;
  return 'has' in expected ? expected.has(appid) : expected.includes(appid);
}
