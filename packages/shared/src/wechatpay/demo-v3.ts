/**
 * APIv3 demo keys of the mp-pay sandbox (docs/protocol.md §7), generated once with the openssl CLI:
 *
 *   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048          (merchant key, then platform key)
 *   openssl req -x509 -new -key <key> -sha256 -days 7300 -set_serial 0x<serial> -subj "/C=CN/O=mp-pay sandbox/…"
 *
 * ─────────────────────────────────────────────────────────────────────────────────────────────────────────────
 *  THESE PRIVATE KEYS ARE PUBLISHED IN THIS REPOSITORY. They are worthless outside the sandbox: WeChat has
 *  never seen them, no real merchant or WeChat Pay key is among them, and anyone can sign with them. A server
 *  with NODE_ENV=production refuses every value below; never copy them into a real configuration.
 * ─────────────────────────────────────────────────────────────────────────────────────────────────────────────
 *
 * The merchant half (mch*) is what a merchant holds: apiclient_key.pem and the API certificate's serial. The
 * platform half is what WeChat holds: the sandbox signs replies and notifications with platformPrivateKey and
 * announces it either as a WeChat Pay public key (platformPublicKeyId, PUB_KEY_ID_ + 34 digits like real ones)
 * or as a platform certificate (platformCertSerial). Both certificates are self-signed, valid from
 * 2026-12-01 for 20 years; their serials are the 40 hex digits WeChat's are.
 */
export const SANDBOX_DEMO_V3 = Object.freeze({
  mchPrivateKey: `-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDGI53UlmbS4kc8
RJjQuO1jjR9KXkbuaQUjPDRfUoDjKiz6pFGCtIbbZPeq7F0yghTJ1cYPsF57VOFD
Nn4daTe9h9aPm2cJxHyCM8ajproW/Vt4+ApnqFGXmaJw2UQPGKGNyz87hRUKiw51
Ay/9UiBzKnvGHSFw7dnvARn0lbjLAYm8THpSeie0/PcRmf6JAwjDnGWU8vmK/gwS
JVC4oT8Jj75tuYf6LI9Yw6SOZlV/lITpkO9sTN8tPpdIvwrFBbmqCJ3mZ0ZnrHuM
vSTuB7tC1e3Aeiymkr0HeIfIkVUAxcRMe6Nn748tYMzfWhk1xdezlH0jxs8YNg0F
Xyw3WA6tAgMBAAECggEAIlfnEgOVxATLoyMit77uCrzZyRqpQca7SL21ODaFN5rG
XBViOX0QCPQpx5sbllccwlVG9M41ujvepbdKyc9EhZoHczHU/MjtaeYOjqwmAjkd
A00/BHOU3OmY0eWe2d0Dl5+8kJUDLiYnNdn9FfQHwt6AwLio5LmddkNjG9Vdx/Xo
kAkDCbY381mmewwfZgJpoBbExqI7SAD0TAD2PzwexZTTrhxC0M/+3XGfl0wMPFYc
JQ5skZ8wabSvlo+D7Ow36+wKccNbpgkE7A+Qq+CzbYQRqCd+DS8x3uIatDgvEP9d
9mwXR0lklPUIx6BNmw0hTzu6JgY2RAk3SyM+GAZ/YQKBgQDvikM7mv7Tn3Fruezz
64vYH0VNMT2EnMYEtiKlQS/1h3oBS4Y1kb69NVrlR9rGCXA4ND3Fejx1VeixXWXG
CoRVAll4npIS5gAwePlfS80KuAqPiSK4OacPs6OArW+m4UIaUFqp0QpmkhW5Up7D
XL6xAj2mI7ouoU0UpO2Gh6gEsQKBgQDTwRJb9rOHs6glhPuPDrEVHSujIsVEkAMh
Jy4DNPPT9GuM/2fpa965JaP4tfvKOi0rBjHI7/wnEZnFQkHaihJn6IhucuSHHkX3
9j4aw/gFSOBHGataOSB6Z7iNIfwvS+mBiYIrSNZPatZ63+ZXKHw619pOtPNYjqE6
5UhjtJwYvQKBgBfsFfTQ8NwPk1Mv2UMu5eNqlBA2d69TvM7hpaodTX3Wzs9sTHXz
HTpmJrK5L1cRwDxMs1KSd5E8SCXWbwCNMlQPDQJny6zJfYFZw4XJ2ytT3/IfvvDp
CQ8fYJfMOldPLbvVBIjrEH/X3QWKA8L88ypYT/HUpZZck4cZRYNm7texAoGBAMIR
PaE4/RqOZblVIjPfFB40qMyPTlni3mtg/AOGYTzM0lDbtsEv0mS/AYMsTgHtxX2b
5L6yatbng5VMfwwp5GqEq50GATlwXlG9xPdEyScWvi2LcgZzOrfUHUiDcBtsqCnG
+5xt2bPZR44/a1xPx2MqdnIR1sA/n7ZZcjmmyjTFAoGBANZK2lfIT1FRR6kfoF+5
cNNpDLvROX/kVeSB4iFmBNosdNdzzAs4ca03XEOk9Pl01bOqAbemHlU/pasRBmW+
gbQS2mcDHxDeLU/9WV3X7PWNz+tW65l+sqIDFniUkJ76PDwe+gkqq6MbSLTBLANF
W7iqtrtoDHKGhJNMHY1pqKen
-----END PRIVATE KEY-----
`,
  mchCertSerial: '3A5D0C0DE0000000000000000000000000001909',
  mchPublicKey: `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxiOd1JZm0uJHPESY0Ljt
Y40fSl5G7mkFIzw0X1KA4yos+qRRgrSG22T3quxdMoIUydXGD7Bee1ThQzZ+HWk3
vYfWj5tnCcR8gjPGo6a6Fv1bePgKZ6hRl5micNlEDxihjcs/O4UVCosOdQMv/VIg
cyp7xh0hcO3Z7wEZ9JW4ywGJvEx6UnontPz3EZn+iQMIw5xllPL5iv4MEiVQuKE/
CY++bbmH+iyPWMOkjmZVf5SE6ZDvbEzfLT6XSL8KxQW5qgid5mdGZ6x7jL0k7ge7
QtXtwHosppK9B3iHyJFVAMXETHujZ++PLWDM31oZNcXXs5R9I8bPGDYNBV8sN1gO
rQIDAQAB
-----END PUBLIC KEY-----
`,
  mchCertificate: `-----BEGIN CERTIFICATE-----
MIID1zCCAr+gAwIBAgIUOl0MDeAAAAAAAAAAAAAAAAAAGQkwDQYJKoZIhvcNAQEL
BQAwezELMAkGA1UEBhMCQ04xFzAVBgNVBAoMDm1wLXBheSBzYW5kYm94MSEwHwYD
VQQLDBhkZW1vIG1lcmNoYW50IDE5MDAwMDAxMDkxMDAuBgNVBAMMJ21wLXBheSBz
YW5kYm94IGRlbW8gbWVyY2hhbnQgKG5vdCByZWFsKTAeFw0yNjEyMDEwMDMwMjRa
Fw00NjExMjYwMDMwMjRaMHsxCzAJBgNVBAYTAkNOMRcwFQYDVQQKDA5tcC1wYXkg
c2FuZGJveDEhMB8GA1UECwwYZGVtbyBtZXJjaGFudCAxOTAwMDAwMTA5MTAwLgYD
VQQDDCdtcC1wYXkgc2FuZGJveCBkZW1vIG1lcmNoYW50IChub3QgcmVhbCkwggEi
MA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQDGI53UlmbS4kc8RJjQuO1jjR9K
XkbuaQUjPDRfUoDjKiz6pFGCtIbbZPeq7F0yghTJ1cYPsF57VOFDNn4daTe9h9aP
m2cJxHyCM8ajproW/Vt4+ApnqFGXmaJw2UQPGKGNyz87hRUKiw51Ay/9UiBzKnvG
HSFw7dnvARn0lbjLAYm8THpSeie0/PcRmf6JAwjDnGWU8vmK/gwSJVC4oT8Jj75t
uYf6LI9Yw6SOZlV/lITpkO9sTN8tPpdIvwrFBbmqCJ3mZ0ZnrHuMvSTuB7tC1e3A
eiymkr0HeIfIkVUAxcRMe6Nn748tYMzfWhk1xdezlH0jxs8YNg0FXyw3WA6tAgMB
AAGjUzBRMB0GA1UdDgQWBBRSo3lIK0Snfb9rMNODCbb01sFtjzAfBgNVHSMEGDAW
gBRSo3lIK0Snfb9rMNODCbb01sFtjzAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3
DQEBCwUAA4IBAQAYPE7m0GJQV9JXZwxAdP4PNk0dIO6UGMD0mcy+UkxnzObofMp4
dJtAd5eWeREaYW8kfSe5tdO1BMAWDGGXZv5wvdKR3Tu2onBsp+yTTp+sKTkuERIK
nwreYvPYLM4WM418ilIJOt0Fnm5c/YFEgUmD9Vj2ZSZE47aeZoCN2yzAQo8UF1lg
X+yGFrHLl6XOOFDyZejyENbF56UxZPY5S2SHQkksNqXD6pLqYC6cfiD6iErYdq6y
C7xx3cgN8RJp6IW6Kdx6ab9yganfxobDqhk58xfEhf5TZzqdHrlzdHZd2ZoBOorl
gdfjIQMSgf94dUhWKQk0KRI/QMYaGLJ3GEa4
-----END CERTIFICATE-----
`,
  platformPrivateKey: `-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDoTTCwlyF8T0wl
esI+MCLxa39h0jxr0kmpJfetf/QVrzsDGSgsa2iyHvFTR2nkXZ4PFSdafkl7gnOu
5IcdoyDEk3yMhdM3rXYS+A7F+K7K1ODvvdDhlW5I0y95uYbc/hvsRW1BjrcwPfcw
bYlKdmaT37c9HNPSV7b5QObcwT5OzqvOESt1S8dZ7sQnJfIzdPdyPvxMs7mObvu/
FFZUezeJmSes47whkonp4s0sdUq2sMlwtKuz7lp1zm5XLetUdvktwn204brqCbk6
eKVPz/hZUkAHXwx27vBJITDuaURrvZbCkLdbiywpWolSOT0ONoAc7C1SopQAo9lM
BNBBR179AgMBAAECggEARxW71QXiPs5rMDrg7rO/NZ4eBDqXt6zJUqPmJyb085/E
EJ4ln3Ycuwjh8why3GlTYS0pdjUX2l4gdT/EIusUr2KsZbnb2PlRHNvgdW80WagL
zwEIRsd50HojWH3PyZdOxx21oa6A2xfTKPQT43/Ywt5eDarhHMgvmxVjr+DIZsed
Hn+AP0mf6FWEcdBsgTBl902bdbi/R4PVvgDqoAE7mKBZAndDzlX67XvL97zrZfFl
tjCv57wArl2qtg0Cjj9+VMDMIHIojGOpklQ5JfmVnn5EVvp91UdyIEigxBzcv1IM
5mibVH9g5zXOfmW8D7fe4SaqLTQEkShk6EdQYVyZlwKBgQD4/xh59NVwzb558cbs
r2PrYxnQFhSkBeGuV/+fIbT5i5vGQ7r307FVj7XGLJikjfgGpTZCkU7cX5w4zU8v
9vvNae4UhtvriDjf9ynP5uGZkrtpdkmPCC1Cbub+CEuAtd+COcou+R24Vz1wjbV+
/3uT1jiLzhhcCIwdMbxVkSEGdwKBgQDu1eHdtD1Wwj5vwm9TNb2PhOdDsnkonTK/
v8cqUOiSqmXA6OQPmtzxpei3BMCfDPQfopuseQaKcfKzgmFjjmweqIeZA6oAsywW
q4uAJ6WYMvYBRQZJ/EFiLweg+GNWMf/AhUI0muRN4aPOMnB5TgB3ctsilQYR1lEC
70SVdfw/KwKBgEjh6lkwSBWXs4xgL9jx0a6BuHmHLQ2BxzhP+7upkx6ENdmH079c
0Ih54zwZq6hnAdV4IHTFsa6hscmSlv40LipHOm/5tX+wxO0RnMSFET3xjDfnbsqW
GyFZ8vUimm8XTVAB+GNdecyOhKZgZGLDB3oTd0O81LaDrfeRqk3liCQrAoGBANZc
R0XakLc+zhU22P5BHKskqQDcvdvTA4qQkSyMw8FniL5VCORspWOJ+k3RySS31qBS
LRDm6xT1YtT0734QhUAbGOEgJcRNDAQo4aMbcoghLSVEk3lyHCkIdvtmFJp3c8mS
kTJv1vuDyqa2JLbraIXNI5ttT65QwhM1N0RCSi1TAoGBAM0uBs+fA27zeNjbwE17
ayv+XfiAmHDVIDZ4k5hqigagxsXSoTrd/RJ8w1M1WHJCwjhqeJ3FY7MP9vozuuyE
Oz5yJzg9z1xZrvDi9NhHmnxJzTGzKp6XHfWl5gYYtPT7d1BkEcJ5jXqYrgoEX/+O
rFIbkACyv+aBC92qw4JkDLrB
-----END PRIVATE KEY-----
`,
  platformPublicKeyId: 'PUB_KEY_ID_0119000001092026010100000000000000',
  platformPublicKey: `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA6E0wsJchfE9MJXrCPjAi
8Wt/YdI8a9JJqSX3rX/0Fa87AxkoLGtosh7xU0dp5F2eDxUnWn5Je4JzruSHHaMg
xJN8jIXTN612EvgOxfiuytTg773Q4ZVuSNMvebmG3P4b7EVtQY63MD33MG2JSnZm
k9+3PRzT0le2+UDm3ME+Ts6rzhErdUvHWe7EJyXyM3T3cj78TLO5jm77vxRWVHs3
iZknrOO8IZKJ6eLNLHVKtrDJcLSrs+5adc5uVy3rVHb5LcJ9tOG66gm5OnilT8/4
WVJAB18Mdu7wSSEw7mlEa72WwpC3W4ssKVqJUjk9DjaAHOwtUqKUAKPZTATQQUde
/QIDAQAB
-----END PUBLIC KEY-----
`,
  platformCertificate: `-----BEGIN CERTIFICATE-----
MIIDzTCCArWgAwIBAgIUWl0MDeAAAAAAAAAAAAAAAAAAAPEwDQYJKoZIhvcNAQEL
BQAwdjELMAkGA1UEBhMCQ04xFzAVBgNVBAoMDm1wLXBheSBzYW5kYm94MRYwFAYD
VQQLDA1kZW1vIHBsYXRmb3JtMTYwNAYDVQQDDC1tcC1wYXkgc2FuZGJveCBXZUNo
YXQgUGF5IHBsYXRmb3JtIChub3QgcmVhbCkwHhcNMjYxMjAxMDAzMDI0WhcNNDYx
MTI2MDAzMDI0WjB2MQswCQYDVQQGEwJDTjEXMBUGA1UECgwObXAtcGF5IHNhbmRi
b3gxFjAUBgNVBAsMDWRlbW8gcGxhdGZvcm0xNjA0BgNVBAMMLW1wLXBheSBzYW5k
Ym94IFdlQ2hhdCBQYXkgcGxhdGZvcm0gKG5vdCByZWFsKTCCASIwDQYJKoZIhvcN
AQEBBQADggEPADCCAQoCggEBAOhNMLCXIXxPTCV6wj4wIvFrf2HSPGvSSakl961/
9BWvOwMZKCxraLIe8VNHaeRdng8VJ1p+SXuCc67khx2jIMSTfIyF0zetdhL4DsX4
rsrU4O+90OGVbkjTL3m5htz+G+xFbUGOtzA99zBtiUp2ZpPftz0c09JXtvlA5tzB
Pk7Oq84RK3VLx1nuxCcl8jN093I+/EyzuY5u+78UVlR7N4mZJ6zjvCGSienizSx1
SrawyXC0q7PuWnXOblct61R2+S3CfbThuuoJuTp4pU/P+FlSQAdfDHbu8EkhMO5p
RGu9lsKQt1uLLClaiVI5PQ42gBzsLVKilACj2UwE0EFHXv0CAwEAAaNTMFEwHQYD
VR0OBBYEFNOhn9DCMKZaCnr6nq7Nq1rHB2LmMB8GA1UdIwQYMBaAFNOhn9DCMKZa
Cnr6nq7Nq1rHB2LmMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQELBQADggEB
AFlPPy2Ahm4UkaruOhSRTTgWkTBGVEaRxaI+QKlan5KKxjQiVDM6LXbZYaSMlyG9
p6/jk4Kod613QtRuz10eQDWyI/D3gUw1kltFtThVI5S7fw/1LVDkq+GO3icX1x5v
A9pkpV/7dQQzpQWEk2uovi2JoHmq+yGg/HHVBigKn74pKRyt78e61fam7Naf2hBl
O5ieHaofqxNwOZ+jjK6BPv6hwHkvg/MxTFfnBnoOppkOALpDledOeWYL2jWKuK1a
iGe3E9ZRR3N3i+t2Un2gYjxuCCmsj95vRkBCHVGb56I+/E3g6+yY8icnF84hWoVT
Ebb/mmEzthz75ek99k4oxnA=
-----END CERTIFICATE-----
`,
  platformCertSerial: '5A5D0C0DE00000000000000000000000000000F1',
  /** 32 bytes, as the APIv3 key must be. */
  apiV3Key: 'mppaySandboxDemoApiV3Key00000000',
});
