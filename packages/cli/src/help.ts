/** The --help texts: each command with its options, examples and the exit codes scripts can rely on. */
const EXIT_CODES = `Exit codes:
  0  fine: the signature matches / the configuration is complete / the merchant answered as it must
  1  a problem was diagnosed (the report says which)
  2  usage error (unknown option, missing or unreadable input, a merchant or app the sandbox does not know)
  3  the sandbox could not be reached (trigger)
  4  unexpected failure (a bug, or a sandbox reply the CLI did not expect)
With --json, exit 2, 3 and 4 print {"ok":false,"exitCode":N,"error":"USAGE|SANDBOX_UNREACHABLE|UNEXPECTED","message":…}.`;

const SETTINGS = `Configuration (the server's variable names; flags win over --env-file, which wins over --env):
  --appid WECHAT_APPID          --mchid WECHATPAY_MCHID        --key WECHATPAY_KEY (APIv2 key)
  --apiv3-key WECHATPAY_APIV3_KEY                              --secret WECHAT_SECRET (AppSecret)
  --private-key WECHATPAY_PRIVATE_KEY (apiclient_key.pem)      --cert WECHATPAY_CERT (apiclient_cert.pem)
  --cert-serial WECHATPAY_CERT_SERIAL                          --api-version WECHATPAY_API_VERSION (v2|v3)
  --public-key WECHATPAY_PUBLIC_KEY (pub_key.pem)              --public-key-id WECHATPAY_PUBLIC_KEY_ID
  --p12 WECHATPAY_CERT_P12      --p12-passphrase WECHATPAY_CERT_PASSPHRASE
  --client-cert WECHATPAY_CLIENT_CERT  --client-key WECHATPAY_CLIENT_KEY  --platform-certs WECHATPAY_PLATFORM_CERTS
  --env-file FILE               read those variables from a .env file (relative paths: from the file's folder)
  --env                         read those variables from the environment (never done without this flag)
  --json                        print the report as JSON (same exit codes)`;

export const HELP: Readonly<Record<string, string>> = {
  main: `mp-pay — developer tools for WeChat Pay signatures and the sandbox

Usage: pnpm mp-pay <command> [options]      (or mp-pay <command> once the package is linked)

Commands:
  doctor sign <input>      v2 parameter map: the signed string, MD5 / HMAC-SHA256, and which mistake made the sign
  doctor paysign <input>   wx.requestPayment (5 fields) or APP PayReq (6 fields), v2 or v3 (RSA)
  doctor v3                an APIv3 notification: time window, serial, signature, AES-GCM tag
  doctor keys              key ↔ certificate ↔ serial, expiry, .p12 passphrase, key formats, completeness
  trigger <scenario>       make the sandbox send a scenario's notifications to your notify_url and check the answers

Run mp-pay <command> --help for its options and examples.

${EXIT_CODES}`,

  'doctor sign': `mp-pay doctor sign <input> [--key K] [--apiv3-key K] [--secret S] [--sign SIGN] [--sign-type T] [--show-key] [--json]

<input> is a v2 parameter map as JSON, a query string or XML: a file path, - for stdin, or the text itself.
A query string is read URL-decoded (+ as space, %XX) and, if that reproduces nothing, with its values as
written; the report says which reading matched. Prints the exact string that is signed (stringA&key=…; the key masked unless --show-key), the MD5 and
HMAC-SHA256 signatures with --key, and whether the map's sign (or --sign) matches. When it does not, it re-signs
the map the ways signers get it wrong — empty values kept, sign itself signed (give the sent sign with --sign),
sign_type added after signing, URL-encoded or decoded values, untrimmed values, names re-cased (timeStamp /
timestamp, appId / appid, package / packageValue), package without prepay_id=, another key (--apiv3-key,
--secret), the other sign type — and names the one that reproduces the sign.

Examples:
  mp-pay doctor sign request.xml --key "$WECHATPAY_KEY"
  mp-pay doctor sign 'appid=wxd930ea5d5a258f4f&mch_id=10000100&device_info=1000&body=test&nonce_str=ibuaiVcKdpRxkhJA&sign=9A0A8659F005D6984697E2CA0A9CF3B7' --key 192006250b4c09247ec02edce69f6a2d
  pbpaste | mp-pay doctor sign - --env-file .env --json

${SETTINGS}

${EXIT_CODES}`,

  'doctor paysign': `mp-pay doctor paysign <input> [--appid A] [--key K | --private-key F | --cert F] [--kind miniprogram|app] [--sign-type T] [--json]

<input> holds what the client pays with (file, - or inline JSON / query string):
  mini-program: {timeStamp, nonceStr, package, signType, paySign} (+ appId, or pass --appid: it is signed)
    v2 (MD5 / HMAC-SHA256): over appId, timeStamp, nonceStr, package, signType with the APIv2 key
    v3 (signType RSA): SHA256withRSA over appId\\ntimeStamp\\nnonceStr\\npackage\\n
  APP (OpenSDK PayReq): {appid, partnerid, prepayid, package: "Sign=WXPay", noncestr, timestamp, sign}
    v2: over the six lower-case fields (--sign-type: the order's, MD5 by default)
    v3 (base64 sign): SHA256withRSA over appid\\ntimestamp\\nnoncestr\\nprepayid\\n
RSA signs are verified with the merchant certificate (--cert) or re-signed with --private-key to compare; the
sandbox demo merchant key is tried too, and named when it is the one that signed.

Examples:
  mp-pay doctor paysign '{"timeStamp":"1764547200","nonceStr":"abc","package":"prepay_id=wx…","signType":"MD5","paySign":"…"}' --appid wx5ad0b0c0de5a4db0 --key "$K"
  mp-pay doctor paysign pay.json --env-file .env --private-key apiclient_key.pem
  mp-pay doctor paysign payreq.json --kind app --key "$K" --sign-type HMAC-SHA256

${SETTINGS}

${EXIT_CODES}`,

  'doctor v3': `mp-pay doctor v3 (--request FILE | --headers JSON --body FILE) [--public-key F --public-key-id ID] [--platform-cert F]... [--apiv3-key K] [--key K] [--now T] [--json]

Checks an APIv3 notification (or reply) the way the server does, reporting every step:
  headers    Wechatpay-Timestamp, -Nonce, -Signature, -Serial present, once each
  probe      a WECHATPAY/SIGNTEST/ signature is WeChat probing your verifier: reported as a probe
  time       Wechatpay-Timestamp within 5 minutes of now (--now: Unix seconds or an ISO time)
  serial     a key you hold: PUB_KEY_ID_… (public key mode) or a platform certificate serial
  signature  over timestamp\\nnonce\\nbody\\n with the raw body; if not, over the body re-serialised
             (JSON.stringify of the parsed body, pretty-printed…) or, the other way, over the body received with
             WeChat's \\uXXXX escapes, \\/ or ", " / ": " separators put back: "body was re-serialised"
  decrypt    the resource's AEAD_AES_256_GCM tag with the APIv3 key ("tag mismatch: the APIv3 key is wrong";
             with --key it also recognises the APIv2 key used in its place)
--request is a saved HTTP request (request line, headers, blank line, body bytes); --headers a JSON object
(file, - or inline; string or number values) with --body the exact body file (or -, but not both from stdin).
A key or certificate that does not load is a finding, and the check goes on with the others.

Examples:
  mp-pay doctor v3 --request notify.http --public-key pub_key.pem --public-key-id PUB_KEY_ID_0114… --apiv3-key "$K3"
  mp-pay doctor v3 --headers headers.json --body body.json --env-file .env --now 2026-12-01T08:00:00Z

${SETTINGS}

${EXIT_CODES}`,

  'doctor keys': `mp-pay doctor keys [--env-file .env | --env | flags] [--api-version v2|v3] [--now T] [--json]

Checks the merchant's key material together: the private key loads and is RSA ≥ 2048; it is the key of the
certificate (WECHATPAY_CERT); the certificate's serial is WECHATPAY_CERT_SERIAL; the certificate is valid now
(expired, or expiring within 30 days); the .p12 opens with its passphrase (the mch_id unless
WECHATPAY_CERT_PASSPHRASE); the APIv3 key is 32 bytes; the public key id is PUB_KEY_ID_ + digits; and the
configuration is complete for the API version (WECHATPAY_API_VERSION, v2 by default). Keys are never printed.

Examples:
  mp-pay doctor keys --env-file .env
  mp-pay doctor keys --env --api-version v3
  mp-pay doctor keys --private-key apiclient_key.pem --cert apiclient_cert.pem --cert-serial 3A5D…

${SETTINGS}

${EXIT_CODES}`,

  trigger: `mp-pay trigger <scenario> [--sandbox URL] [--notify-url URL] [--refund-notify-url URL] [--timeout MS] [--json]

Places an APIv3 order at the sandbox (as the merchant), pays it (as the buyer) and, per scenario, sets the
sandbox faults that make WeChat's side misbehave; then reads the sandbox's record of every notification sent
to your notify_url and checks your answers: genuine ones acknowledged (every duplicate too), forgeries and
probes rejected.

Scenarios:
  payment-success          the notification must be acknowledged
  payment-failure          PAYERROR: no notification at all (query the order)
  duplicate-notification   the acknowledged notification again --count times (2): acknowledge each
  out-of-order             payment notification held --hold-ms (12000) while the order is refunded: the refund
                           notification arrives first (hold longer than the sandbox's refund delay)
  signtest                 a WECHATPAY/SIGNTEST/ probe first: reject it
  stale-timestamp          a validly signed notification 10 minutes old first: reject it
  tampered-body            a body that does not match its signature first: reject it
  tampered-ciphertext      a signed notification whose ciphertext was altered first: reject it (GCM tag)
  refund-success | refund-abnormal | refund-closed
                           pay, refund, and the refund ends that way: the refund notification must be acknowledged

Options:
  --sandbox URL            default http://127.0.0.1:4010
  --notify-url URL         default http://127.0.0.1:3000/wechatpay/v3/notify (the server's v3 notify path)
  --refund-notify-url URL  default http://127.0.0.1:3000/wechatpay/v3/refund-notify
  --amount FEN             default 1
  --timeout MS             how long to wait for the notifications, default 30000
  The merchant is the sandbox demo one unless --appid, --mchid, --private-key, --cert-serial (or --env-file /
  --env) name another the sandbox knows.

Examples:
  mp-pay trigger signtest
  mp-pay trigger refund-abnormal --notify-url http://127.0.0.1:3000/wechatpay/v3/notify --json

${EXIT_CODES}`,
};
