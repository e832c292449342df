import t from 'tap';
import * as oidc from 'openid-client';
import { readEnv } from '../../src/config/index.ts';
import { Browser } from '../helpers/browserless.ts';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { discover } from '../helpers/relying-party.ts';
import { SECRETS } from '../helpers/setups.ts';
import { basicAuthorization, introspect, postForm, rawBasicAuthorization, refreshRequest, revoke, tokenRequest } from '../helpers/token-requests.ts';

// The log is checked where it is fullest: level trace, request logging on,
// after a full day's worth of traffic (code flow with PKCE, refresh,
// introspection, revocation, client credentials, userinfo, logout, wrong
// passwords and secrets, hostile and malformed requests). It must have
// plenty in it, and no token, code, verifier, secret, password or cookie
// value anywhere, in any encoding a request carries it in.
const { issuer, logs } = await startLatchkey(t, { logLevel: 'trace', requestLogging: true });
const WRONG_SECRET = 'wrong-client-secret-for-log-test';
const WRONG_PASSWORD = 'wrong-password-for-log-test';

/** Every cookie value the server set, as a browser would have received them. */
class RecordingBrowser extends Browser {
  readonly cookieValues = new Set<string>();

  override async request(url: string, init: RequestInit & { form?: Record<string, string> } = {}): Promise<Response> {
    const response = await super.request(url, init);
    for (const line of response.headers.getSetCookie()) {
      const value = line.split(';')[0]!.split('=').slice(1).join('=');
      if (value) this.cookieValues.add(value);
    }
    return response;
  }
}

const secrets = new Set<string>([WRONG_SECRET, WRONG_PASSWORD, ...Object.values(SECRETS)]);
const remember = (...values: (string | undefined)[]) => values.forEach((v) => v && secrets.add(v));
for (const [id, secret] of [['web1', SECRETS.web1], ['svc', SECRETS.svc], ['rs', SECRETS.rs], ['svc', WRONG_SECRET]] as const) {
  remember(basicAuthorization([id, secret]).slice(6), rawBasicAuthorization([id, secret]).slice(6), encodeURIComponent(secret));
}

t.test('a day of traffic', async (t) => {
  const browser = new RecordingBrowser(issuer);
  const config = await discover(issuer, 'web1', SECRETS.web1);
  const verifier = oidc.randomPKCECodeVerifier();
  const authorizationUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: 'https://app.test/cb', scope: 'openid profile email offline_access', state: oidc.randomState(), nonce: oidc.randomNonce(),
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  // A wrong password first, then the right one.
  const { url: loginUrl } = await browser.follow(authorizationUrl.href);
  const wrong = await browser.request(`${new URL(loginUrl).pathname}/login`, { method: 'POST', form: { login: 'alice', password: WRONG_PASSWORD } });
  t.equal(wrong.status, 401, 'wrong password refused');
  const callback = await browser.authorize(authorizationUrl.href, { login: 'alice', password: SECRETS.alice });
  const code = callback.searchParams.get('code')!;
  remember(code, verifier, callback.searchParams.get('state') ?? undefined);

  const tokens = await tokenRequest(issuer, { grant_type: 'authorization_code', code, redirect_uri: 'https://app.test/cb', code_verifier: verifier }, { basic: ['web1', SECRETS.web1] });
  t.equal(tokens.status, 200, 'code redeemed');
  const { access_token: access, refresh_token: refresh, id_token: idToken } = tokens.json as Record<string, string>;
  remember(access, refresh, idToken);

  const refreshed = await refreshRequest(issuer, refresh!, ['web1', SECRETS.web1]);
  t.equal(refreshed.status, 200, 'refreshed');
  remember(refreshed.json?.['access_token'], refreshed.json?.['refresh_token'], refreshed.json?.['id_token']);
  t.equal((await introspect(issuer, refreshed.json!['access_token'], ['rs', SECRETS.rs])).json?.['active'], true, 'introspected');
  const userinfo = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${refreshed.json!['access_token']}` } });
  t.equal(userinfo.status, 200, 'userinfo');
  t.equal((await revoke(issuer, refreshed.json!['refresh_token'], ['web1', SECRETS.web1])).status, 200, 'revoked');

  const service = await tokenRequest(issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['svc', SECRETS.svc] });
  t.equal(service.status, 200, 'client credentials');
  remember(service.json?.['access_token']);
  t.equal((await tokenRequest(issuer, { grant_type: 'client_credentials' }, { basic: ['svc', WRONG_SECRET] })).status, 401, 'wrong client secret refused');
  // The secret in the body (client_secret_post) rather than in Authorization.
  t.ok((await postForm(`${issuer}/token`, { grant_type: 'client_credentials', client_id: 'svc', client_secret: SECRETS.svc })).status < 500, 'client_secret_post');

  const end = await browser.request(oidc.buildEndSessionUrl(config, { id_token_hint: idToken!, post_logout_redirect_uri: 'https://app.test/bye', state: 'bye' }).href);
  const page = await end.text();
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)![1]!;
  remember(xsrf);
  const done = await browser.request('/session/end/confirm', { method: 'POST', form: { xsrf, logout: 'yes' } });
  t.equal(done.status, 303, 'signed out');
  // Last, as a replay revokes the grant.
  t.equal((await tokenRequest(issuer, { grant_type: 'authorization_code', code, redirect_uri: 'https://app.test/cb', code_verifier: verifier }, { basic: ['web1', SECRETS.web1] })).status, 400, 'code replay refused');
  for (const value of browser.cookieValues) remember(value);
});

t.test('hostile and malformed requests', async (t) => {
  const token = [...secrets].find((s) => s.length > 40)!;
  const basic = basicAuthorization(['svc', SECRETS.svc]);
  const cookie = `_session=${SECRETS.alice}; other=${SECRETS.web2}`;
  const answers = await Promise.all([
    fetch(`${issuer}/me?access_token=${token}`),
    fetch(`${issuer}/nope/${token}?client_secret=${SECRETS.svc}`, { headers: { authorization: basic, cookie } }),
    fetch(`${issuer}/interaction/${token}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie }, body: `login=alice&password=${SECRETS.alice}` }),
    fetch(`${issuer}/token`, { method: 'POST', headers: { authorization: basic, 'content-type': 'text/plain' }, body: `client_secret=${SECRETS.svc}` }),
    fetch(`${issuer}/token`, { method: 'POST', headers: { 'content-type': '%%%', authorization: basic }, body: `password=${SECRETS.alice}` }),
    fetch(`${issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `client_secret=${SECRETS.svc}&pad=${'a'.repeat(70_000)}` }),
    fetch(`${issuer}/auth?client_id=web1&code_verifier=${SECRETS.alice}&id_token_hint=${token}`),
    rawRequest(issuer, `GET /token?code=${token} HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic}\r\nCookie: ${cookie}\r\nX-Pad: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`),
    rawRequest(issuer, `GET /me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nCookie: _session=${SECRETS.web1}\x01\r\nConnection: close\r\n\r\n`),
    rawRequest(issuer, `GET /%%${token}?password=${SECRETS.alice} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    rawRequest(issuer, `POST /token/introspection HTTP/1.1\r\nAuthorization: ${basic}\r\nConnection: close\r\n\r\n`),
  ]);
  t.ok(answers.every((a) => a.status >= 400 && a.status < 500), 'all refused with a 4xx');
});

t.test('the log is full, and holds no secret', async (t) => {
  const text = logs.join('');
  const lines = text.split('\n').filter(Boolean);
  t.ok(lines.length > 20, `${lines.length} log lines`);
  const requests = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry['msg'] === 'request');
  t.ok(requests.length > 20, `${requests.length} request lines`);
  t.ok(requests.some((r) => r['path'] === '/token' && r['method'] === 'POST' && r['status'] === 200), 'the token endpoint is in it');
  t.ok(requests.some((r) => r['path'] === '/interaction/:uid/login'), 'interaction paths as their pattern');
  t.ok(requests.every((r) => typeof r['path'] === 'string' && !String(r['path']).includes('?')), 'no query strings');
  const leaked = [...secrets].filter((secret) => secret.length >= 8 && text.includes(secret));
  t.same(leaked.map((s) => `${s.slice(0, 8)}…`), [], 'no token, code, verifier, secret, password or cookie value in the log');
  // As a header's name (audit events name the authorization_code grant, which is no header).
  t.notMatch(text, /"authorization"|authorization:|cookie|rawPacket/i, 'no request headers');
});

t.test('LATCHKEY_LOG_REQUESTS is read and validated once', async (t) => {
  t.equal(readEnv({}).logRequests, false, 'off by default');
  t.equal(readEnv({ LATCHKEY_LOG_REQUESTS: 'true' }).logRequests, true);
  t.throws(() => readEnv({ LATCHKEY_LOG_REQUESTS: 'loud' }), /LATCHKEY_LOG_REQUESTS/);
});
