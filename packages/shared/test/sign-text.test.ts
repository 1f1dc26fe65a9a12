import { describe, expect, it } from 'vitest';
import { canonicalString, signV2, signV2Text } from '@mp-pay/shared/v2';

// WeChat's own example (pay.weixin.qq.com/wiki/doc/api/jsapi.php?chapter=4_3).
const KEY = '192006250b4c09247ec02edce69f6a2d';
const PARAMS = {
  appid: 'wxd930ea5d5a258f4f',
  mch_id: '10000100',
  device_info: '1000',
  body: 'test',
  nonce_str: 'ibuaiVcKdpRxkhJA',
};

describe('signV2Text: the digest step over a caller-built stringA', () => {
  it('reproduces the official MD5 and HMAC-SHA256 examples from the documented stringA', () => {
    const stringA =
      'appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA';
    expect(canonicalString(PARAMS)).toBe(stringA);
    expect(signV2Text(stringA, KEY, 'MD5')).toBe('9A0A8659F005D6984697E2CA0A9CF3B7');
    expect(signV2Text(stringA, KEY, 'HMAC-SHA256')).toBe(
      '6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6',
    );
  });

  it('is what signV2 uses, and differs as soon as the stringA does', () => {
    expect(signV2Text(canonicalString(PARAMS), KEY)).toBe(signV2(PARAMS, KEY));
    expect(signV2Text(`${canonicalString(PARAMS)}&attach=`, KEY)).not.toBe(signV2(PARAMS, KEY));
  });

  it('refuses an empty key', () => {
    expect(() => signV2Text('a=1', '')).toThrow(TypeError);
  });
});
