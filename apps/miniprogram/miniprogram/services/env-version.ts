/**
 * Which version of the mini-program is running, read from WeChat. No imports: errors.ts and environment.ts
 * both need it.
 */
export type EnvVersion = 'develop' | 'trial' | 'release';

/**
 * The running version. Anything unexpected counts as release, the strictest: a build that cannot tell what it
 * is must not relax a guard.
 */
export function envVersion(): EnvVersion {
  let value: unknown;
  try {
    value = wx.getAccountInfoSync().miniProgram.envVersion;
  } catch {
    return 'release';
  }
  return value === 'develop' || value === 'trial' ? value : 'release';
}

/** "https://h/p?token=x#y" -> "https://h/p": what may go into a log. */
export function withoutQuery(url: string): string {
  return url.replace(/[?#].*$/, '');
}
