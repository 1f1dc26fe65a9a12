import { describe, expect, it } from 'vitest';
import {
  APIV2_KEY_RULE,
  APP_SECRET_RULE,
  APPID_RULE,
  MCH_ID_RULE,
  SANDBOX_DEMO,
  type CredentialRule,
} from '../src/wechatpay/index.ts';

describe('credential rules', () => {
  it('accept the sandbox demo credentials and the documentation examples', () => {
    expect(APPID_RULE.re.test(SANDBOX_DEMO.appId)).toBe(true);
    expect(APPID_RULE.re.test('wxd930ea5d5a258f4f')).toBe(true);
    expect(APP_SECRET_RULE.re.test(SANDBOX_DEMO.secret)).toBe(true);
    expect(MCH_ID_RULE.re.test(SANDBOX_DEMO.mchId)).toBe(true);
    expect(MCH_ID_RULE.re.test('10000100')).toBe(true);
    expect(APIV2_KEY_RULE.re.test(SANDBOX_DEMO.key)).toBe(true);
    expect(APIV2_KEY_RULE.re.test('192006250b4c09247ec02edce69f6a2d')).toBe(true);
  });

  it.each<[string, CredentialRule, string[]]>([
    [
      'appid',
      APPID_RULE,
      ['', 'wx123', 'WX0123456789abcdef', 'wx0123456789abcdef0', 'wx0123456789abcde-', ' wx0123456789abcdef'],
    ],
    ['AppSecret', APP_SECRET_RULE, ['', 'a'.repeat(31), 'a'.repeat(33), `${'a'.repeat(31)}!`]],
    ['mch_id', MCH_ID_RULE, ['', '1234567', '1234567890123', '19000001O9', 'wx5ad0b0c0de5a4db0']],
    ['APIv2 key', APIV2_KEY_RULE, ['', 'short', 'k'.repeat(33), `${'k'.repeat(31)} `]],
  ])('%s refuses malformed values', (_label, rule, bad) => {
    for (const value of bad) expect(rule.re.test(value), value).toBe(false);
  });

  it('carry messages that say what the value should be', () => {
    expect(APPID_RULE.message).toMatch(/"wx" followed by 16/);
    expect(APP_SECRET_RULE.message).toMatch(/32-character AppSecret/);
    expect(MCH_ID_RULE.message).toMatch(/numeric merchant id/);
    // The sandbox's and the server's tests look for this wording.
    expect(APIV2_KEY_RULE.message).toMatch(/^must be the 32-character APIv2 key/);
  });
});
