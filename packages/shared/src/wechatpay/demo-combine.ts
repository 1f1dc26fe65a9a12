/**
 * Demo sub-merchants of the mp-pay sandbox for combine (合单) payments (docs/protocol.md §7 "Combine payments").
 * A combine order's sub-orders may go to the combine merchant itself and to merchants WeChat has linked to it;
 * the sandbox links these two to the main demo merchant (SANDBOX_DEMO.mchId) and binds them to the demo apps
 * (mini-program, official account, mobile app), so a combine of three merchants works with no configuration.
 *
 * Each has its own v2 API key, APIv3 key and merchant key pair (generated once with
 * `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`), because a sub-order is a trade of its own
 * merchant: it is queried, refunded and billed with that merchant's credentials, and its refund notifications
 * are encrypted with that merchant's APIv3 key.
 *
 * ─────────────────────────────────────────────────────────────────────────────────────────────────────────────
 *  THESE PRIVATE KEYS ARE PUBLISHED IN THIS REPOSITORY and worthless outside the sandbox: never copy them into
 *  a real configuration.
 * ─────────────────────────────────────────────────────────────────────────────────────────────────────────────
 */
export interface SandboxDemoSubMerchant {
  readonly mchId: string;
  /** v2 API key (32 characters). */
  readonly key: string;
  /** APIv3 key (32 bytes). */
  readonly apiV3Key: string;
  /** Serial of its merchant API certificate (40 hex digits), sent as serial_no in Authorization. */
  readonly mchCertSerial: string;
  /** Its apiclient_key.pem. */
  readonly mchPrivateKey: string;
}

export const SANDBOX_DEMO_COMBINE_SUB_MERCHANTS: readonly SandboxDemoSubMerchant[] = Object.freeze([
  Object.freeze({
    mchId: '1900000209',
    key: 'mppaySandboxSub1Key0000000000000',
    apiV3Key: 'mppaySandboxSub1ApiV3Key00000000',
    mchCertSerial: '8C9617A9EC05252C1494F1388C2B0D4AF5572A57',
    mchPrivateKey: `-----BEGIN PRIVATE KEY-----
MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQDIOMNmeFFItkhC
58L/kIwcR670EAqeldihx4FGYUsxUeJKZC2ahWqvxmNq5BkrA/Y41uuUG9lz4R2u
lJXq/1IGQAAc7E34dikAP+aU5A02Xgi92VK0bHTSjeLUC9L/90n6kz001a73ogr1
QjtKnF+JSNZ/B+Lwo9ErnuscRrL3JXa0gdjh1YvnVbHIqezBQBIKNpC9b1PZe6rR
LPv5V6x9pG+/B3Fu8GbuPXzNh8FSq8LOqcg352/qfTpFIheBChb3Co5WOSdzqSFx
FUJtz/W3G2Sxk+7RP499H3cAQavARdzyR+0yBlMSwTQEAuhmusXpLYg+eHdMfJBG
KzaLH1pBAgMBAAECggEADv0iMlLHMax6YWPXQb7mS5xZg7+LA/nkyKEA/linQo8b
joUhstkntkv27QLGwuUeMtLID648C67qbsOEgPNR29JBD+k9dwsQIQrSQ2Av1bDu
x5j0K49DpEWR7weJlAxFAgNcHXnyX2sb6ztk6T4mmsY/Ty2Idt+p94bYmU/OSFkS
5LuWYF9h7N/OKh6TMz8RA6KXoWIsw0VhwQIIYnF70MUyxsVh/uK2UXcDl0GBlgAu
7D7M1wxsz5lWUDDeueT2RrN+Vb52A6eW+3Z46zPxA3Lfyc/dawYiH4bAjq8RG+iq
ToZn2bvlbXNyXr+7Bn5KFREboMbIjm3nMAC7mfGSKQKBgQDnkVMmUrEh0sB+7OXe
UOpyBLKvVO/8idUukDJFeMEjXDHjPvP3DVJkBPvJ5KrPRE8mCDihfpDdaE+o/QqR
cmKeyC5FTccfsugEP9LVyZ3wwftSR81rxrFZEFWEi/cirRACWkeDMsSSedr8dUCW
m1oJgqM7haqslG8ezupeoXtiPQKBgQDdWMe5i2gXumnsM/iVjrt7lMs0UEU0rPcg
h0sVTfR4irNwoSY/qC//i4i6skLZ41fk6HFJNHeimsOa0fu73cdMcIx75TWBnIuU
Zt4Hbj2b+E4tY4psl7KZlVACMIweP38IXwCK0/PdzK0kbHsSZMko94lQxZVt/EC8
7jwbZ+5sVQKBgQCYzg7eZQa52QZpOw3ci+yI3IzEofnS3WktVr21lh9so/PPjsUS
K1pI4fj8msYUC3FnGVm1R310fNbEHmYQ4DgvqszNsqtJQZdU5oDLzkVIj9i1zOfC
zNROfzbPRkUIPscnpkc2ThPkzEAzA3RhbZYWXHw2VNfxFenVnJiPZWOzyQKBgQCA
2jjSO2QqQ/t7ZDm2nnNnmpO8bWoMIxBtoDTGPy4sqdmRnE4OypK+eXTr8e/WtXCq
MeIY0nE+eEecLdcUYyOszOwLB8BhJkde6Y8g1j0JOcAQzhx74Mc4fuInlClNRntl
3SAMsRwKpya3yGrQp1ku/wKxwYOeljT9htX4wkTaTQKBgQDIUeHO61LWLv7G/nhA
J53mMj9lJFvzWCsbTqXAyWwOxCXjpeqWtAubFc4MunKKnwHW52MQvgREnzpZWeWB
iELrmWKCqMdIGQBcuU8OGZiBkdoj2MxzhkZhMCNySj+abSuPx8YhcesRa9tfVAfZ
vSHYS54sB8AklSjVw4DB/1x4mA==
-----END PRIVATE KEY-----
`,
  }),
  Object.freeze({
    mchId: '1900000309',
    key: 'mppaySandboxSub2Key0000000000000',
    apiV3Key: 'mppaySandboxSub2ApiV3Key00000000',
    mchCertSerial: '2BDB341C7C4B3E1F6B450AD49C4A290FD7F69662',
    mchPrivateKey: `-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDQbbD8aJc6pyee
ocrLgm5srxkgwE3ow53sVGwEBXq0WmQrayrGo55yV6jHYoWo3fi5T0A5Kmn0DSNs
+i4ttZuE6Ib0sc2sHYO8KjXzmyTfNKgrhnISwEb5qHtwnl0HdB7SiF9BTimsd+I1
4eamkOw0/NbHVlt3OyCQ7nP5Y+qFHiSbmCxy4C7nI7YwysksM7M97NnS75uASMoH
xQNUHSZsQzrSavl9XN5L3hIDI8i0VOrPmWfDy5UEnX30sDFCk8z44JiDM1qGMvLd
o+QTkJ1nue9kLFQg5dvAgECxP4XHumnG2+pKMv+Rdj/I6V9temtlvYHhag+BLjNW
GK8Thpt7AgMBAAECggEANsxoKGydOhwBhCj4hvoDa0q7+grlUOnBZwWpIoOIR8uu
I2Y5KGGTQm++nbFO/99gSeRGt+DpW3Nq2XeLVZQ2T8LM3J+0uehGnt2gMqybDJ4t
Csh9zGVGI9SCo9DXF6MViXe2R5azyTb5v/3lJOzcVXAWTfFr+dSPUtuGnU6CNb4F
gxvnuubzPex+W4CQnF9Zk30dxkkuAlcBtnsq4C4BrnzRiE/VTXfnsQpCCV0HpXDJ
KFp/CDdG81EJeOOnAsl6iPOvNg2a1Efs/4e41t3Qh6UZgLbLBGm0+ntTdoHOdF2n
AszoB6oPfQCbgh2rTSM21L2/CNvGyRayNTdOMq9TsQKBgQD/PxG06J9idsutjYHj
ha2HT6CmcU1lYeNF6iD5kB6qyJRXVz2xQD6l6EQdc28CHYhfUj1XYiyrNtw9ycFn
XaWK63M0+w33JJSDyKx6TlfdZXSlaJcLxVHujLCUC9NjNCY+N4cqTSLb+mwIf9Ne
DZWL14AzH60y1Uh1zMd8+u8/sQKBgQDRCzv/KyBH9R7pDvytU71JKkYmXD+e87u9
dT/CqvvCOhOyEi6LGZGV3XR0RCAt95S5aWlL0pHBLqmMgYjYpB97r2viwml3aSe7
9GGGxzIHUyrJ5mv9lb26uqUSWtWZyDWeoYZvf2Xkvgvo17i3lpsoq1+nXz5bUz5l
uSKrzOZk6wKBgGeVTLZCAQyQcS/JUYDn6vgSlHt3V5VhGD5zOVaN6iQcqjaXrO2V
yNbDX4EkK1SMb59fXI1txfrllJNuoRI1qsypqGNDzvMQ4URp17T6viWW2rOVslaQ
iSNp7O7nra2AqFRvbGb6Tr8+7UC1vy1YDexmVBxrKnqKm5FSvVI284jBAoGBALok
S89iooMQtO6IZt0cRN/CoeaEnC45EIKaxiTcxgNkXadh40n/gZC2On1RMGpeHHOh
dp6KqTkhCN7RdX6bXmFvihzISsuGulf2O2WdOGInX2GbKawLy39btaOLeMpP6dcQ
M7pS8fNmewpiFNx9Yjorp6hM+iSuElDYMxRSBxHzAoGAaZSOChkZYVX2b3IkK9yP
vHqla64lV9iWb9cwIk1/+V3bgKr0mNt9hXGsQU30vdJdNfyD3hvF8YIFCVRQ/MSS
vFxNxgSWiEMSsyXx/S3kJ1wiwbnVN5KLfOTzcX63vi7hA8cLoi8XNdg3zYuUqpRF
V++57J5TFnBWz3tsjSdVEHk=
-----END PRIVATE KEY-----
`,
  }),
]);
