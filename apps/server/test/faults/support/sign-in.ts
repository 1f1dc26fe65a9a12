/**
 * wx.login in the sandbox, then POST /api/session. The suites run the sandbox with a high time scale so that
 * WeChat's retry schedule passes in seconds, which also shrinks a login code's 5-minute life to a fraction of a
 * second; on a loaded machine the exchange can lose that race. A code that expired in transit is not what
 * these suites test, so sign-in simply asks for a fresh code, a bounded number of times.
 */
export async function signInBuyer(
  sandboxUrl: string,
  serverUrl: string,
  appId: string,
  user: string,
): Promise<string> {
  let last = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const login = await fetch(`${sandboxUrl}/sandbox/login-codes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appid: appId, user }),
    });
    if (!login.ok) throw new Error(`login code refused: HTTP ${login.status} ${await login.text()}`);
    const { code } = (await login.json()) as { code: string };
    const res = await fetch(`${serverUrl}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    last = await res.text();
    if (res.status === 201) return (JSON.parse(last) as { token: string }).token;
    if (!last.includes('"login_code_invalid"')) break;
  }
  throw new Error(`sign-in failed for ${user}: ${last}`);
}
