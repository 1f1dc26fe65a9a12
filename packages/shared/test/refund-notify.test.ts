import { createCipheriv, createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { refundNotification, refundNotificationReqInfo } from '@mp-pay/shared/testing';
import {
  decryptRefundNotification,
  encryptRefundNotification,
  parseXml,
  refundNotifyKey,
  WechatPayError,
  WechatPayRefundNotifyError,
} from '@mp-pay/shared/v2';

/**
 * Published vector: silenceper/wechat, pay/notify/refund_test.go (commit 2bf34c3aca157f47c0cb022b8fc40763b4d6c687,
 * "data_source: https://studygolang.com/articles/11811", a real WeChat refund callback). The same key and
 * req_info appear in go-pay's TestDecryptRefundNotifyReqInfo. docs/protocol.md §8 cites it.
 */
const VECTOR_KEY = 'ziR0QKsTUfMOuochC9RfCdmfHECorQAP';
const VECTOR_REQ_INFO =
  'YYwp8C48th0wnQzTqeI+41pflB26v+smFj9z6h9RPBgxTyZyxc+4YNEz7QEgZNWj/6rIb2MfyWMZmCc41CfjKSssoSZPXxOhUayb6KvNSZ1p6frOX1PDWzhyruXK7ouNND+gDsG4yZ0XXzsL4/pYNwLLba/71QrnkJ/BHcByk4EXnglju5DLup9pJQSnTxjomI9Rxu57m9jg5lLQFxMWXyeASZJNvof0ulnHlWJswS4OxKOkmW7VEyKyLGV6npoOm03Qsx2wkRxLsSa9gPpg4hdaReeUqh1FMbm7aWjyrVYT/MEZWg98p4GomEIYvz34XfDncTezX4bf/ZiSLXt79aE1/YTZrYfymXeCrGjlbe0rg/T2ezJHAC870u2vsVbY1/KcE2A443N+DEnAziXlBQ1AeWq3Rqk/O6/TMM0lomzgctAOiAMg+bh5+Gu1ubA9O3E+vehULydD5qx2o6i3+qA9ORbH415NyRrQdeFq5vmCiRikp5xYptWiGZA0tkoaLKMPQ4ndE5gWHqiBbGPfULZWokI+QjjhhBmwgbd6J0VqpRorwOuzC/BHdkP72DCdNcm7IDUpggnzBIy0+seWIkcHEryKjge3YDHpJeQCqrAH0CgxXHDt1xtbQbST1VqFyuhPhUjDXMXrknrGPN/oE1t0rLRq+78cI+k8xe5E6seeUXQsEe8r3358mpcDYSmXWSXVZxK6er9EF98APqHwcndyEJD2YyCh/mMVhERuX+7kjlRXSiNUWa/Cv/XAKFQuvUYA5ea2eYWtPRHa4DpyuF1SNsaqVKfgqKXZrJHfAgslVpSVqUpX4zkKszHF4kwMZO3M7J1P94Mxa7Tm9mTOJePOoHPXeEB+m9rX6pSfoi3mJDQ5inJ+Vc4gOkg/Wd/lqiy6TTyP/dHDN6/v+AuJx5AXBo/2NDD3fWhHjkqEKIuARr2ClZt9ZRQO4HkXdZo7CN06sGCHk48Tg8PmxnxKcMZm7Aoquv5yMIM2gWSWIRJhwJ8cUpafIHc+GesDlbF6Zbt+/KXkafJAQq2RklEN+WvZ/zFz113EPgWPjp16TwBoziq96MMekvWKY/vdhjol8VFtGH9F61Oy1Xwf6DJtPw==';

const KEY = 'mppaySandboxDemoKey0000000000000';

function unreadable(fn: () => unknown): WechatPayRefundNotifyError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WechatPayRefundNotifyError);
    return err as WechatPayRefundNotifyError;
  }
  throw new Error('expected a WechatPayRefundNotifyError');
}

describe('decryptRefundNotification', () => {
  it('decrypts the published silenceper/wechat vector (MD5-hex key, <root> map)', () => {
    expect(refundNotifyKey(VECTOR_KEY).toString('ascii')).toBe('a1fdc4d1da9fb443b1091d34bcee9493');
    expect(decryptRefundNotification(VECTOR_REQ_INFO, VECTOR_KEY)).toEqual({
      out_refund_no: '50fd012ed1b311e7af7800163e32c503',
      out_trade_no: '4893e76d8c8b434cb64e9cd536338e33',
      refund_account: 'REFUND_SOURCE_RECHARGE_FUNDS',
      refund_fee: '6',
      refund_id: '50000404922017112502468056157',
      refund_recv_accout: '支付用户零钱',
      refund_request_source: 'API',
      refund_status: 'SUCCESS',
      settlement_refund_fee: '6',
      settlement_total_fee: '6',
      success_time: '2017-11-25 15:36:17',
      total_fee: '6',
      transaction_id: '4200000015201711256947025404',
    });
  });

  it('round-trips what encryptRefundNotification makes, and what plain AES-256-ECB makes', () => {
    const map = {
      out_refund_no: 'R1',
      refund_status: 'CHANGE',
      refund_fee: 100,
      refund_recv_accout: '零钱 & <x>',
    };
    expect(decryptRefundNotification(encryptRefundNotification(map, KEY), KEY)).toEqual({
      out_refund_no: 'R1',
      refund_status: 'CHANGE',
      refund_fee: '100',
      refund_recv_accout: '零钱 & <x>',
    });
    // Independently: Node's own PKCS#7 padding, the key as WeChat documents it, a declaration before <root>.
    const key = Buffer.from(createHash('md5').update(KEY).digest('hex'));
    const cipher = createCipheriv('aes-256-ecb', key, null);
    const plain =
      '<?xml version="1.0"?>\n<root><out_refund_no>R2</out_refund_no><refund_status>SUCCESS</refund_status></root>';
    const info = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]).toString('base64');
    expect(decryptRefundNotification(info, KEY)).toEqual({ out_refund_no: 'R2', refund_status: 'SUCCESS' });
  });

  it('a wrong key is a typed error naming the fix (the APIv2 key, not the APIv3 key)', () => {
    const info = encryptRefundNotification({ out_refund_no: 'R1', refund_status: 'SUCCESS' }, KEY);
    const err = unreadable(() => decryptRefundNotification(info, 'another32characterkey00000000000'));
    expect(err).toBeInstanceOf(WechatPayError);
    expect(err).toMatchObject({
      name: 'WechatPayRefundNotifyError',
      code: 'REFUND_NOTIFY',
      reason: 'UNREADABLE',
    });
    expect(err.message).toMatch(/MD5 of the APIv2 key \(WECHATPAY_KEY/);
    expect(err.message).toMatch(/not the APIv3 key/);
    expect(err.message).not.toContain(KEY);
    // The upper-case hex digest (a classic slip) is another key.
    const upper = Buffer.from(createHash('md5').update(KEY).digest('hex').toUpperCase());
    const c = createCipheriv('aes-256-ecb', upper, null);
    const slipped = Buffer.concat([
      c.update('<root><out_refund_no>R</out_refund_no><refund_status>SUCCESS</refund_status></root>'),
      c.final(),
    ]).toString('base64');
    unreadable(() => decryptRefundNotification(slipped, KEY));
  });

  it('a tampered req_info is refused: every single-block change of the vector', () => {
    const sealed = Buffer.from(VECTOR_REQ_INFO, 'base64');
    for (let block = 0; block < sealed.length / 16; block++) {
      const altered = Buffer.from(sealed);
      altered[block * 16 + 3] = (altered[block * 16 + 3] ?? 0) ^ 0x5a;
      unreadable(() => decryptRefundNotification(altered.toString('base64'), VECTOR_KEY));
    }
    // Truncated, not base64, empty, a block short.
    expect(unreadable(() => decryptRefundNotification(VECTOR_REQ_INFO.slice(0, 40), VECTOR_KEY)).reason).toBe(
      'MALFORMED',
    );
    expect(unreadable(() => decryptRefundNotification('not base64!', VECTOR_KEY)).reason).toBe('MALFORMED');
    expect(unreadable(() => decryptRefundNotification('', VECTOR_KEY)).reason).toBe('MALFORMED');
    const short = sealed.subarray(0, sealed.length - 16).toString('base64');
    unreadable(() => decryptRefundNotification(short, VECTOR_KEY));
    expect(unreadable(() => decryptRefundNotification(VECTOR_REQ_INFO, '')).reason).toBe('BAD_KEY');
  });

  it('refuses hostile XML inside a correctly encrypted req_info (the hardened parser applies)', () => {
    const key = Buffer.from(createHash('md5').update(KEY).digest('hex'));
    const seal = (plain: string) => {
      const cipher = createCipheriv('aes-256-ecb', key, null);
      return Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]).toString('base64');
    };
    for (const plain of [
      '<!DOCTYPE r [<!ENTITY x "y">]><root><out_refund_no>&x;</out_refund_no></root>',
      '<root><out_refund_no><a>1</a></out_refund_no><refund_status>SUCCESS</refund_status></root>',
      '<xml><out_refund_no>R</out_refund_no><refund_status>SUCCESS</refund_status></xml>',
      '<root><out_trade_no>T</out_trade_no></root>',
    ]) {
      unreadable(() => decryptRefundNotification(seal(plain), KEY));
    }
  });
});

describe('refundNotification fixture', () => {
  it('builds the unsigned outer <xml> with req_info that decrypts to the refund map', () => {
    const input = {
      appId: 'wx5ad0b0c0de5a4db0',
      mchId: '1900000109',
      key: KEY,
      transactionId: '4200000000202501010000000001',
      outTradeNo: 'T1',
      refundId: '50300000000000000000000000001',
      outRefundNo: 'R1',
      totalFee: 300,
      refundFee: 100,
      successTime: '2025-01-01 12:00:00',
    };
    const built = refundNotification(input);
    const outer = parseXml(built.xml);
    expect(Object.keys(outer).sort()).toEqual(['appid', 'mch_id', 'nonce_str', 'req_info', 'return_code']);
    expect(outer.sign).toBeUndefined();
    expect(decryptRefundNotification(outer.req_info ?? '', KEY)).toEqual(refundNotificationReqInfo(input));
    expect(built.reqInfo).toMatchObject({
      refund_status: 'SUCCESS',
      settlement_refund_fee: '100',
      success_time: '2025-01-01 12:00:00',
      refund_recv_accout: '支付用户零钱',
    });
    expect(refundNotificationReqInfo({ ...input, refundStatus: 'REFUNDCLOSE' }).success_time).toBeUndefined();
  });
});
