/**
 * The sandbox's mutual-TLS material for APIv2 refunds (`/secapi/pay/refund`, docs/protocol.md §6, §8), generated
 * ONCE with the openssl CLI (OpenSSL 3.0) and committed:
 *
 *   openssl req -new -newkey rsa:2048 -nodes …                         (three keys: CA, server, merchant client)
 *   openssl ca -selfsign -extensions ca_ext -startdate 20200101000000Z -enddate 21200101000000Z   (the demo CA)
 *   openssl ca -extensions server_ext …   (server: CN and subjectAltName 127.0.0.1, ::1, localhost; serverAuth)
 *   openssl ca -extensions client_ext …   (merchant client certificate: CN = OU = the demo mch_id; clientAuth)
 *   openssl pkcs12 -export -in client.pem -inkey client.key -name "Tenpay Certificate" -passout pass:1900000109
 *
 * ─────────────────────────────────────────────────────────────────────────────────────────────────────────────
 *  EVERY KEY BELOW IS PUBLISHED IN THIS REPOSITORY. SANDBOX ONLY. The CA is the sandbox's own, not WeChat's and
 *  not any public CA: nothing outside the sandbox trusts it, and anyone can issue certificates with it. The
 *  client certificate is NOT a WeChat Pay apiclient_cert: WeChat has never seen it. A server with
 *  NODE_ENV=production must refuse all of it (isSandboxDemoTls() says whether a value is one of these);
 *  never put it, or the CA, into a real configuration or trust store.
 * ─────────────────────────────────────────────────────────────────────────────────────────────────────────────
 *
 * What each part is for:
 *  - caCert: the demo CA. The sandbox's TLS listener trusts only client certificates it issued (as WeChat trusts
 *    only the apiclient_cert it issued), and a client talking to the sandbox over HTTPS trusts it as its root
 *    (`ca` option) instead of the system roots.
 *  - serverCert / serverKey: the sandbox's HTTPS identity, for 127.0.0.1, ::1 and localhost.
 *  - clientCertPem / clientKeyPem: the demo merchant's client certificate, as apiclient_cert.pem and
 *    apiclient_key.pem.
 *  - clientP12Base64 / passphrase: the same pair as apiclient_cert.p12, whose passphrase is the mch_id, as
 *    WeChat ships it. Unlike WeChat's (RC2/3DES, which OpenSSL 3 refuses without `-legacy`), this one uses
 *    OpenSSL 3's defaults (PBES2, AES-256-CBC, SHA-256 MAC), which Node's tls.createSecureContext reads as is.
 *
 * All certificates are valid from 2020-01-01 to 2120-01-01 (so a machine with a wrong clock still connects).
 */
export const SANDBOX_DEMO_TLS = Object.freeze({
  caCert: `-----BEGIN CERTIFICATE-----
MIIDhzCCAm+gAwIBAgIBATANBgkqhkiG9w0BAQsFADBkMQswCQYDVQQGEwJDTjE0
MDIGA1UECgwrbXAtcGF5IHNhbmRib3ggKHB1Ymxpc2hlZCBkZW1vLCBub3QgV2VD
aGF0KTEfMB0GA1UEAwwWbXAtcGF5IHNhbmRib3ggZGVtbyBDQTAgFw0yMDAxMDEw
MDAwMDBaGA8yMTIwMDEwMTAwMDAwMFowZDELMAkGA1UEBhMCQ04xNDAyBgNVBAoM
K21wLXBheSBzYW5kYm94IChwdWJsaXNoZWQgZGVtbywgbm90IFdlQ2hhdCkxHzAd
BgNVBAMMFm1wLXBheSBzYW5kYm94IGRlbW8gQ0EwggEiMA0GCSqGSIb3DQEBAQUA
A4IBDwAwggEKAoIBAQDYB/2OQDQPKRDqkdkwS5yQYouDq+OYEKJTJZ5saQCLnxjp
QLI9amv83AwbESP9h2/yiuCA16VcdLp+O1HDmItJrZLvSgVPuUYd1nGAnEZll0VX
20d6c5zLa6yNCrzy7t8Q06RGJjwbKAnPJVFwfOlbrhty/z46honyGaCtA6g3+y8o
yGFEVZs59luR9MPoCN8ebdGDt7sIHGFkHJnoKWbqLk/XznkPM8bVx106uYi/8kWP
re2HNhJTAJUeCeSbUWadl/+s1wZu3rqjr9duSx+wmnlSubMvRS3sWNjKQRzlYYEI
BHAvJfEcJtcMg8amv5C5EKi4sRRs6ldlCyObi5ANAgMBAAGjQjBAMA8GA1UdEwEB
/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQWBBQSZWovy/k5KACF1eCg
jVRSsxuzADANBgkqhkiG9w0BAQsFAAOCAQEAEit9QNoffVIcCAoExrmQEhGvv/r/
p/2ehHjGYNMK2hYJFpQy752Ryhwp240hrrlMwV0prmNrcfARkEzWDbJiJjq/xphl
vbDqI70RiDeYRkjx9nqEqbK7TS5Vf62klPDXRyNASol0ZLuF4RN6si0vFbyKfp4E
HJgmzW6SikGwp9xhbHKT0N9uWoVNjv4MqCvrfz5LAK4sSXWHLVYX+g1Y9tTFZpAC
MldJn3sNrzYmz5ZRgd63FyF+UJouGD2ZwAFca9ZohcxN24JZWlPn1HYK4Dpt+1WD
bB8/lWJeG+eQUkjhnwoD9VUWU23k14mTE+qF8kNHfWAQHFQMbtbJmY/6bw==
-----END CERTIFICATE-----
`,
  serverCert: `-----BEGIN CERTIFICATE-----
MIIDsDCCApigAwIBAgIBAjANBgkqhkiG9w0BAQsFADBkMQswCQYDVQQGEwJDTjE0
MDIGA1UECgwrbXAtcGF5IHNhbmRib3ggKHB1Ymxpc2hlZCBkZW1vLCBub3QgV2VD
aGF0KTEfMB0GA1UEAwwWbXAtcGF5IHNhbmRib3ggZGVtbyBDQTAgFw0yMDAxMDEw
MDAwMDBaGA8yMTIwMDEwMTAwMDAwMFowLTEXMBUGA1UECgwObXAtcGF5IHNhbmRi
b3gxEjAQBgNVBAMMCTEyNy4wLjAuMTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCC
AQoCggEBAMcOadH0BgnT5obnV2GJP7ouBcFKgbtuCgzenMFCVQBAzTvZi1If+tal
+wCZH+26iHCLzTxlPC3RIB/XAogDFnTIrsIyvPbkXWg0XIo0OX0VPYVxKAIS++xT
AQ/f9q4al+g6bNsyrSZ2+1xLHpoj355KKsIovYdCNZuh+SPXZbSuQ0It1z9D7VjM
YbuA0Ek8BfkrSNVyy7r7VcgpyfzpUdDltLIfPmRAX9275KLL0tsh7NWMXaGA8Apw
tG/BaMdfDj7Kofdz+0ue6WRWNxltrg9VPRn2Bc4J/Vi/cEnaoZl2ccwMKJOOOArY
BY3TrzR8WATjews8qrJIqsc6bqYLdHsCAwEAAaOBoTCBnjAJBgNVHRMEAjAAMA4G
A1UdDwEB/wQEAwIFoDATBgNVHSUEDDAKBggrBgEFBQcDATAsBgNVHREEJTAjhwR/
AAABhxAAAAAAAAAAAAAAAAAAAAABgglsb2NhbGhvc3QwHwYDVR0jBBgwFoAUEmVq
L8v5OSgAhdXgoI1UUrMbswAwHQYDVR0OBBYEFEQRCeVKO04Xhzsn4vHQkUZDEpZM
MA0GCSqGSIb3DQEBCwUAA4IBAQAHH0hk94Mgc9mqD04gDhKlDZGkQ9A+YjvUovo6
KsBfLTf3j0Fya0cywvsc/H6RvuRQRoAVsCFr4jOuZTDGNe+6xfu95d1Q3sYeD3c0
YXBuZlfLkQi97tTp7Z0CwGFW+Rqrp+Dx7nA2nzFDsW2BEHpx2jR2+aPQnHl1M56j
lxeMmMh5FwJXI1RPdaLN80fCMDhXWE/hGCLwaX4O/QPXWMh9v27e9kJpdwEo0iZZ
Kg6znDBwzUC1EM0XW4ESsk2LHSwiqWhKYWCWvOp3Yml6/eZYLaiqzA+bFJsqmjhh
F1nV8eU1J7MOZk6QgqVZ6y6PetFApN8piNGiMG++8Hc8ix/v
-----END CERTIFICATE-----
`,
  serverKey: `-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQDHDmnR9AYJ0+aG
51dhiT+6LgXBSoG7bgoM3pzBQlUAQM072YtSH/rWpfsAmR/tuohwi808ZTwt0SAf
1wKIAxZ0yK7CMrz25F1oNFyKNDl9FT2FcSgCEvvsUwEP3/auGpfoOmzbMq0mdvtc
Sx6aI9+eSirCKL2HQjWbofkj12W0rkNCLdc/Q+1YzGG7gNBJPAX5K0jVcsu6+1XI
Kcn86VHQ5bSyHz5kQF/du+Siy9LbIezVjF2hgPAKcLRvwWjHXw4+yqH3c/tLnulk
VjcZba4PVT0Z9gXOCf1Yv3BJ2qGZdnHMDCiTjjgK2AWN0680fFgE43sLPKqySKrH
Om6mC3R7AgMBAAECggEAFoXvfFWvvznuWjJgBUXJ46+kcBAVqNcVJQqlUwrF4m7y
qgR+Cq9aqyIByjoJTlVubcmr0dskmYyRpXinLSuoRVOVzpx+HDOPzCQsmmi5Xoli
OjCpFb7/KWjk9F5jo6SXrqu5uH298N3CqFlJn6hSe68psml4tI7N0QvdTGxpci2Y
ggDZeJmVwXqrbjIoXwsI+PXFzw+XXSi5VwGn9sB4gWu3TrmNFkhO/9fZVIcYcBsI
nEOTbxBDRTKid/1g1M3g1AyBxI1wBxDa16t+BiGWIkTxxye1W0aIXCKVZGHO+Ic9
iUiEmH/nqAB/rGPYctN8ogCx8E+BnOTdTzQ7dI7GUQKBgQDtGDhpqWRc7avRcARL
tvAbRpcgGTdgWkmQzJZ8Tns8w7S5mZopnJuDf9nuPzHdKPGSy6q5RmEuJvWvv9Yn
dGFiV22Il9BQKPk76zC6HQ8QmEmwlsmQB4EsvnSiigaCHtgfOvQvd8hnQgRs2VNM
frOf8/T+mL8F3LjpKC/r5XgPKwKBgQDW7bjk5W2PLGcc8XvXpHVgpKP6clcx+cw2
rIT+tv5pOHmBGJgBgUGz/NiDvqx7ba4tkEmZWxUumcLwkttCoTYPH5JWvCJ7vHKw
/l+mzihfFpZPP8lhda/jsA956cQpVznPBM96/3tPo8vJ1Ynm7K09na9UYkjT0o8T
fQ1sIVEH8QKBgFhkTDvQRDOFBCaL3X4g0LlKgvMbk5Kfdoe+Tmg/liBcUhdT1a6n
zS6kTqpM8xkht5Zjyd1TCM39BmGkYoHJGLliINroxmfsLqcREtSAGuqz690jCjhh
I957jt4+GRkPyMEz6G9997/PU/kEuNJu9iau++qjJaxY0rNSITOQFEeLAoGARJCD
umnCgLkuj9otosZxN4puUVgmnufMkOiKaOOh15lPkbJx05ETj8Kqo6SxS5LazOhJ
wmV/JWWh/bMrxV6+ayasPYU5DvY4NGSBySndUTBYdSGpMbEkkmM5HLBJhtKvu24S
bm+QPADJ4zJ/Eq8QOSbTpvzPtNtoD1SGcqdSPVECgYBiTnl3aNk9dbJhI/zP2lUo
J2ApE3r3qEpdHB6tYi2mBAt+eA+5AmsQYE2BY8XP0xT0Mb87CZcjcdbmbIzJYA3W
CRy6AbQu9cPkWH2JceVep3Vw1qZ6ERBlcyQT+HejSFJ24XdKtY+tRHs8ZJ7T+/BE
1ZJVRDSR15+W+5lkehuMeQ==
-----END PRIVATE KEY-----
`,
  clientCertPem: `-----BEGIN CERTIFICATE-----
MIIDsTCCApmgAwIBAgIBAzANBgkqhkiG9w0BAQsFADBkMQswCQYDVQQGEwJDTjE0
MDIGA1UECgwrbXAtcGF5IHNhbmRib3ggKHB1Ymxpc2hlZCBkZW1vLCBub3QgV2VD
aGF0KTEfMB0GA1UEAwwWbXAtcGF5IHNhbmRib3ggZGVtbyBDQTAgFw0yMDAxMDEw
MDAwMDBaGA8yMTIwMDEwMTAwMDAwMFowXjELMAkGA1UEBhMCQ04xJTAjBgNVBAoM
HG1wLXBheSBzYW5kYm94IGRlbW8gbWVyY2hhbnQxEzARBgNVBAsMCjE5MDAwMDAx
MDkxEzARBgNVBAMMCjE5MDAwMDAxMDkwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAw
ggEKAoIBAQCZXtWAXL+MC7Tw79l6QCXO98JOPLWaKm8xYGJoDIOCNrMU5FLzfEVL
ENFY7mD3v1UopBXwKXTA/22gpxJrMagtjYzHTAKl2YDdm9frKG+5vswWLXhcNd0z
COq/6jIorJjZdb+EINutZ14uNIRDiKQGYdCjbXa/KefVCRoflf7snE0Lv5vvncls
Q00McseCa1IBNg8e1TxKRMDMJxOPa+EHJZO8ACoqwpfOenZHwiyAQta83eSi/NRU
DU4Sl9w7Ks/pRaxLvZEklmIo0SLeqbcS3pWCN5bEPvWStqAV3FSEi+mMSkBfnWfU
d+P+z4mp7NqKiUcSGiRo4FNznNBAQsb9AgMBAAGjcjBwMAkGA1UdEwQCMAAwDgYD
VR0PAQH/BAQDAgWgMBMGA1UdJQQMMAoGCCsGAQUFBwMCMB8GA1UdIwQYMBaAFBJl
ai/L+TkoAIXV4KCNVFKzG7MAMB0GA1UdDgQWBBSVZLGxH9Ga8E+d+t85yKfHWw7t
VDANBgkqhkiG9w0BAQsFAAOCAQEAQ7c/4p9ZrmNbWTTUdlbSqOXAdQtuFkOgOX1y
r0W+Fxb9U0Ovcstn0y//M6S7QW8Bg0xMSdC7kVepnZ0VplWEBBcH80BI6mxEyupZ
pEpPa6Hl027ccONsQFG3u6hCXjVnAKJZTeph4eU2ycKDx1ENOEupeHmNdWhXgnf5
rawDIE28Tx9IGYILJMt4d6q+22c64bd+i+KYgmI9rb9ydM8CrGqwikq660XzvgJ1
FmbpMmVL2/LleQtgETZb4OlhEHixocdRbJs377JCjt1VDjcdN0QNgI8Rnt3yKgTg
53YxzQ1wKEohqkPWoWRLOOmZtP5h+Y/i7PTI6jSXbe+36oWR/w==
-----END CERTIFICATE-----
`,
  clientKeyPem: `-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCZXtWAXL+MC7Tw
79l6QCXO98JOPLWaKm8xYGJoDIOCNrMU5FLzfEVLENFY7mD3v1UopBXwKXTA/22g
pxJrMagtjYzHTAKl2YDdm9frKG+5vswWLXhcNd0zCOq/6jIorJjZdb+EINutZ14u
NIRDiKQGYdCjbXa/KefVCRoflf7snE0Lv5vvnclsQ00McseCa1IBNg8e1TxKRMDM
JxOPa+EHJZO8ACoqwpfOenZHwiyAQta83eSi/NRUDU4Sl9w7Ks/pRaxLvZEklmIo
0SLeqbcS3pWCN5bEPvWStqAV3FSEi+mMSkBfnWfUd+P+z4mp7NqKiUcSGiRo4FNz
nNBAQsb9AgMBAAECggEAAId42rTP1bewn4xNVwD6og8H0NU9qgrlpTfxoxUXWxJ1
ZgjGAaBmoWwPgpoyoKJ3rgLB5xUU68Q5I4J8X/aRQip3Wq4fkDcws/I5/pL66cKE
Y6cZE2W1T0ukTIlF8pI8p8BaYqLdKDSnYfKCB/al4w7Tzg4xoqvJPf6M5EtD0I3Z
EGtY7DYz/FZO5pv9b/I7vXaZHNf4F2CSoCyC5Mhh4rX5cOPJWS92ldfGk8Ek0BgE
v0K1Ka1wMh2+veg9pcU85Szn7MCl45k7dHJRAXpAlZ8iz/yANWvQyl7/wNX7ss2C
8mxXk4bvupKcQdJOepIFFVEr/g1Xb0oDAOTdqOQWDQKBgQDJOub5MeMEI2iTzXuS
8SezBIDBFR9K5VDGCu53qtMhziPSwchC7Ea/EjcnbUNaMbox4n0+hC+rYY0mkyHP
94Lxo1gt9YpiuGFmNfmkoA3DR3obEVE2dSu0TmhLa2DePOd/uTD+/snz0R7Ba3Jd
abPag/B/BTXZiZilKcL/i9gjVwKBgQDDHTfWpjgubEFjam2swiwV/31LxGLDfGkp
xu4EWhwZC/B7/GYx6E8cx4YIaU+WwxlMLNNLqu/Y1xta1gsAnHd6s/AFh8yfuyR+
Y0QKRxzTVqrJZ4voGq5Jj42d294L7jNmRR0WcstptlRklyNbYwsmdH/JP4uckcM9
+AXkUBenywKBgAc2akLyS83BKyVpDw3UQPUEq0zAYg/AKmX+zE9Tux+SEOyj73ae
m2aL05hBLVHVSHQzRwPvnvnIlFOWoHagy3u3vBhhnaUuMKeGNb110yh1rmW7+Co4
hul+ifRyE9XDXxTP4XayUTDBBRYvsLiyajTh18PlvuleKi95ULjyHTwfAoGBAI5d
ZF/Xmsisrq1me64BY/+NExRUsCepQGZ+Qy+jvDq+TnN5P+wMcKU0JGVAyhTcODov
vuDIUgdrNQd7hD2m7Tr3zhuK8dBe0YryzTOenbbK1wTr69aomSENgKx9QDB+Vry5
kzbM/gUdR8i5ys+knf8qJA9osWrFpKszrMDhe9EvAoGBAJT/Cv3ZaUvwwDOWO1lR
iQ69Oeb9tjq5yGkOHO4yO87j2mURgCZfcNCc876qfujxOVZMIYM7rAlaaSW7BV9D
7DlSmt1eR7zHV0bhO9HL8lDuic9bYm+/VVOprq6cvkqDZ7dgkQTn/YY6i8mfMtMz
MZXIsPRpVh3vbclRk+VSz69j
-----END PRIVATE KEY-----
`,
  clientP12Base64:
    'MIIK9AIBAzCCCqoGCSqGSIb3DQEHAaCCCpsEggqXMIIKkzCCBNIGCSqGSIb3DQEHBqCCBMMwggS/AgEAMIIEuAYJKoZIhvcNAQcB' +
    'MFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAh06z15FF4kgwICCAAwDAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEOzn' +
    'Rbimf+UM6fPKGLRjvreAggRQ8P3EcdzqSt3m34VWBZNCeOpnKUePCDiY0/qNuq66QtaH1E7K6GX25tdH60rxuzAR5q5cL/H6/6TE' +
    '4gThsZkV2CA04z7+LOwgD+WRc0mnDgsVpnD3nIIvs9UquADPKIV4FMcI66cTz0ccxtqoUV+pYwE0yBFfP8oGiEWYt85U9kB4rItf' +
    'ttHr57H5L3KsrISjsJkxBMVIWWAVUl4z1ixlBr1Yy6nfzrf0NaHEx1+R4QwCOzar5lGMwLtGyEnN09kjkfofEz3cxB/nDdZckYjI' +
    'MfHgnZu8RmY/G89f7X16wGtngsmU2ty4ibECgHUz/yD4AelR/htK7Bzb/nBNFkaskm1YgFAkvU/sb4xnYZuhX+8U107dHy/LYfjT' +
    'WuiGPpdKaJ5+410KJOkHL+Pen+5eD1rax6vPvvyhU6MCKxeJjOquq++2hzENopQski7o8SNJBJORa4QNhcaqPBN1w5zj+k7pFlGP' +
    'EEModV1g2gnV5R1QAnZS9nvFym7JaUDLj2qi9rpqOmA4yxjwoYbadQKOYryZxFF37cUgI3ju8PcI1irJUGNQQKkdnJACo7QlhLCr' +
    'KucnmyWQuSZJ9y3snnXms2k20JQTkZX0XmUiz/XVJZVw6jqn3QIbTLDPq2JaOAu9gWFsSq3pIqVtj4fyq9JowUJ913c1SEsr+/Y4' +
    'klOFErSEHlqafA8KcTu8V9abEsbjOw7dS+9XVD9E3f4icAyeai29XnklZSpKZ06VI885eDKz3fexw9iBIAJmerPswyyHvoJ29uLk' +
    'Y+pggsl+tiIk9qFdSN0BWcmWu3LhlqDzNZMuSexrThSC/MqZ4kgcg/h4eTMSB+3eBJpacCJVAU9OyrWd+OSSzcsc9K6PhX0G0qUU' +
    '82FzudqyS6neYWF878LG5TuBghTQML198G0mWlDDtdXhtCd0Pl/L9XC97RvSmuTV/f9iGLSXR4HEjsiLrqjEdLud6Giai9+9zPAZ' +
    'RG6yGpkbmFfzULnAh1O7BicTMf3B4xkNX+eADaMmA7NJzWUAHiNfBoGBtSPvnyemWEkljIT3TpH+/ycFMRutyWJtM/91ExZbQsku' +
    '1v5rCqwb+h9UPpcmzJEcRwbLTiYqSGtylTyn4BB1hQISx70TwViElj0rOfB7P3DuYXXpJShfUpnhqJaCWGlsVtb+4kLP0fO4x//o' +
    'GvAhtewYcxy+VR3QJ09Kyu+0b0cFUVRCtSJ38uFcrhOpQ50ewl9UpBaI68dQpe4qMoXBNmGXRb71H2GvalngfMVr+8RvqF7++UxE' +
    'fjkS06vaVdIpEiNBi7zX+4nA4kZwnM/U1YYF0ugvD0/iDdSZx1BsQqiCG1nn/qGjJ2N6sR0uI3QLcSuKE5CpQ3evb7cJQFpjDsCB' +
    'snQbAwOMgGqk4sIkaPV2TgBfr/av1xK2eM/mT2GDcg511G3/clO+1f0JeSJD7BNYZZaqevBS6QsG5yUEFI/A0xtbiDWadVVXMIIF' +
    'uQYJKoZIhvcNAQcBoIIFqgSCBaYwggWiMIIFngYLKoZIhvcNAQwKAQKgggUxMIIFLTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0B' +
    'BQwwHAQIIwCoVcc8me0CAggAMAwGCCqGSIb3DQIJBQAwHQYJYIZIAWUDBAEqBBCRjtByvF/9KHBCh7DvC/mjBIIE0A5PaN5Lme4L' +
    'E8/6uvp/cm0SJNKZ1d8+YXg+i4JQjwcTbBmZnrvu8KUXXAQYTM5QnO5wXrqwlchsR946XV8onU+Tky30s9XBzb7G3cfmxah5sfI9' +
    'AjFI+ucVKmRsh+utOwhFha4ew14isKXZH81+8gjeqECsfGYOpbin+JR7VojpzjPhIozDImPrB8j7uL38G30hElsrMYExv1+LWKo2' +
    'uDQYPESXSSnF9U6VnmMi+eRd8R35q7SP6wH53K8aM04GMjRG65Mzh8trZ5GIU6PHVEcocqsXPU81WlbU50C407Lx+I+5hW+I9XTV' +
    'pz3zzRv4+PF9WyqYbY5/Gl7DW+xhgJNT3q9KpURTxpEOybDfErChkIDrdskyFnr5lcZy99jrrZiXr+QBqPyUW53avo802hq+N7am' +
    'Q33zaTatyT7JXDC25Edc6IPo3pqFljjurKib07Pd7EXHHhB0damGkDp6Vnd8txSIWp6CAXFYs0sYqx8l54GLZR6itb596wpkrIrK' +
    'ViRPQ5rmAYnuDC5srFMQKIEKxPhTM8se0Wwk+Xi++mnDLBPLuxpYHEh4+YeY3HpAqgAEPAs0Z3qrBVW5kzVYrgIHWkH3QIfSdQmH' +
    'BfY5mIXt9WyExr3Iw1TfbUS4s/TKnXFpDEqxQcwAfjy8wlDGfq10Gr2XENQtdV8TQylAJRISMAbAZbhH2WfAZDYyNXNuvR1heiGh' +
    '24kWcEkti5oocuU24TYqPARFhUrXWhUfHhoilgxb6fkf6FV5LPK6YMs6zgRfxrDIKONd05uJ5j2LbH9ei3jWSbE3D7a+Lb1J4rKA' +
    'T43mKnRsoGgaWlZUkR0HsHYjr1tQ8dVkos6G20xjyLkJGnkrwViMCKXFJfnV0vDHFqOEbkTfBO549ze/vaqZ8pPcuMDNZr2gZi1X' +
    '+7v7LyWof1RBMorYRXDg2BhoXrAYjdc6DpD3MUavfW1cRp3bn0J2SmfkOYiUkaIabSuhnkyJp/msVn64R8q/BEO3FyDtEZDNImJJ' +
    'wRKVWDKSDkviNJIPC17twXZ2itq830lgoQMm1hDAtib91GyarVDutjO0QYLRACYc0dFIyNVBeKOPYkNJEmAcszhg/ibSBDy1o+gn' +
    '/zUT2vyM4MVgKXDlzaN+/alJTxmTgmhR4HH3sfegUJalUYldgxAev/K8VWMf4JvjJxClJnC6JcZV3xmUwSGqlHefY9BHdjtGoQOj' +
    'u29lsWADzPmKjdjilEypjxfBSX5urQAHOcb2z0Ds0+V8QpPZtIMwbW5w0tbTLTa0iU10uJyLvhlsF3VXSzP6RHY4RueF4/y6SiFz' +
    'zc3s7ppqwWHijaWv9wZ8Kw15Ovr3ohhYl1zak4WhBhD08evjRNJyf4eMgFa+ie4H9Vxb4eiiLy7T/W6hLJRvNvqUqYzHKyCNzDpy' +
    'I4BJ2YztK3oekU2fX9hS0JIq/kjZxDrbtlNyhduaBqqLceErcJ0/WtnTTaA61az8VGoUO7jWprl+dv3n8nrZMsboNzuEUC0U+LbD' +
    'IAD43EJSnyA5fAAA5TUrN+OD6Z+AJMNP1TtPZXWLyIjy3sUoH+McjTLLDiicOimo7bKq7EqffKPabqZA4Jq7nWiyxgpbLp5d8hBX' +
    'M0fqUcqDYygORoSHLoaVW19PRoYhz5yKMVowIwYJKoZIhvcNAQkVMRYEFDlYr1NlHNghWVKC2SnMglJMgQCwMDMGCSqGSIb3DQEJ' +
    'FDEmHiQAVABlAG4AcABhAHkAIABDAGUAcgB0AGkAZgBpAGMAYQB0AGUwQTAxMA0GCWCGSAFlAwQCAQUABCCnI4mgVGwLabJ4wJuT' +
    '7/sZlv/Nmxkh6+BE6Ra6fptarQQI+9eNBnIwUXYCAggA',
  /** The demo mch_id (SANDBOX_DEMO.mchId), as WeChat uses the mch_id for apiclient_cert.p12. */
  passphrase: '1900000109',
});

/**
 * True when `value` (PEM text, or the .p12 bytes or base64) is part of SANDBOX_DEMO_TLS: the check a production
 * configuration runs to refuse the published material. Whitespace and line breaks are ignored.
 */
export function isSandboxDemoTls(value: string | Uint8Array): boolean {
  const norm = (text: string) => text.replace(/\s+/g, '');
  const text = typeof value === 'string' ? norm(value) : Buffer.from(value).toString('base64');
  if (text === '') return false;
  const d = SANDBOX_DEMO_TLS;
  return [d.caCert, d.serverCert, d.serverKey, d.clientCertPem, d.clientKeyPem, d.clientP12Base64].some(
    (known) => norm(known) === text,
  );
}
