import * as oidc from 'openid-client';
import t, { type Test } from 'tap';
import { parseDeclarativeSetup } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors/index.ts';
import { Browser } from '../helpers/browserless.ts';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { SECRETS } from '../helpers/setups.ts';
import { assertNoLeak, assertOAuthError, authorizationCode, tokenRequest, type ClientCredentials } from '../helpers/token-requests.ts';

// SECURITY-CATALOG cases 1–16: redirect URI tampering (RFC 6749 §3.1.2,
// RFC 9700 §4.1, OIDC Core §3.1.2.1: exact string comparison). A tampered
// redirect_uri must produce an error page on the server's own origin and
// never a redirect to the supplied URI.

const server = await startLatchkey(t);
const { issuer, latchkey } = server;
const WEB1: ClientCredentials = ['web1', SECRETS.web1];

// A web client registered with a loopback redirect (case 9): port variance is for native apps only.
await latchkey.services.clients.put('default', {
  client_id: 'webloop',
  application_type: 'web',
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code'],
  response_types: ['code'],
  redirect_uris: ['http://127.0.0.1/cb'],
  post_logout_redirect_uris: [],
  scope: 'openid',
});

const CHALLENGE = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());

interface AuthAnswer { status: number; location: string | null; type: string; body: string }

/** GET /auth with the given parameters (PKCE and state added unless overridden), not following redirects. */
async function authorize(params: Record<string, string | undefined>): Promise<AuthAnswer> {
  const query = new URLSearchParams();
  const all = { response_type: 'code', scope: 'openid', state: 'st4te', code_challenge: CHALLENGE, code_challenge_method: 'S256', ...params };
  for (const [key, value] of Object.entries(all)) if (value !== undefined) query.set(key, value);
  const response = await fetch(`${issuer}/auth?${query}`, { redirect: 'manual' });
  return { status: response.status, location: response.headers.get('location'), type: response.headers.get('content-type') ?? '', body: await response.text() };
}

/** A 400 HTML page on our own origin, with no Location at all. */
function errorPage(t: Test, answer: AuthAnswer, error = 'invalid_redirect_uri'): void {
  t.equal(answer.status, 400, 'HTTP 400');
  t.equal(answer.location, null, 'no redirect');
  t.match(answer.type, /^text\/html/, 'an HTML page for a person');
  t.match(answer.body, error, `explains ${error}`);
  t.notMatch(answer.body, /evil\.test|at \w+ \(|node_modules/, 'no echo of the hostile URI, no stack trace');
}

/** A redirect into Latchkey's own login interaction: the request was accepted. */
function accepted(t: Test, answer: AuthAnswer): void {
  t.equal(answer.status, 303, `accepted (HTTP ${answer.status})`);
  t.match(answer.location ?? '', /^\/interaction\//, 'on to the login page');
}

const tampered: [number, string, string[]][] = [
  [1, 'a trailing slash', ['https://app.test/cb/']],
  [2, 'an added query', ['https://app.test/cb?x=1']],
  [3, 'a fragment', ['https://app.test/cb#x']],
  [4, 'prefix and suffix abuse', ['https://app.test/cbx', 'https://app.test/cb.evil.test', 'https://app.test.evil.test/cb']],
  [5, 'authority confusion', ['https://app.test@evil.test/cb', 'https://evil.test\\@app.test/cb', 'https://evil.test%2F@app.test/cb']],
  [6, 'path traversal', ['https://app.test/cb/../x', 'https://app.test/cb/%2e%2e/x', 'https://app.test/cb/%252e%252e/x']],
  [7, 'case and normalisation variants', ['HTTPS://APP.TEST/cb', 'https://app.test:443/cb', 'https://APP.test/cb']],
  [8, 'a scheme downgrade', ['http://app.test/cb']],
];

for (const [n, what, uris] of tampered) {
  t.test(`case ${n}: ${what} → 400 page, no redirect`, async (t) => {
    for (const redirectUri of uris) {
      t.test(redirectUri, async (t) => errorPage(t, await authorize({ client_id: 'web1', redirect_uri: redirectUri })));
    }
  });
}

t.test('control: the registered URI itself is accepted', async (t) => {
  accepted(t, await authorize({ client_id: 'web1', redirect_uri: 'https://app.test/cb' }));
});

t.test('case 8: an http:// non-loopback redirect cannot be registered', async (t) => {
  const error = t.throws(() => parseDeclarativeSetup({
    realms: [{ name: 'default', clients: [{ client_id: 'x', client_secret: 's', redirect_uris: ['http://app.test/cb'] }] }],
  }, { env: {}, nodeEnv: 'production' })) as ConfigError;
  t.equal(error.field, 'realms[0].clients[0].redirect_uris[0]');
  t.match(error.message, /https/);
});

t.test('case 9: loopback port variance for native apps only', async (t) => {
  accepted(t, await authorize({ client_id: 'native1', redirect_uri: 'http://127.0.0.1:53111/cb' }));
  accepted(t, await authorize({ client_id: 'native1', redirect_uri: 'http://127.0.0.1/cb' }));
  errorPage(t, await authorize({ client_id: 'native1', redirect_uri: 'http://127.0.0.1:53111/other' }));
  errorPage(t, await authorize({ client_id: 'native1', redirect_uri: 'http://localhost:53111/cb' }));
  errorPage(t, await authorize({ client_id: 'webloop', redirect_uri: 'http://127.0.0.1:53111/cb' }));
  accepted(t, await authorize({ client_id: 'webloop', redirect_uri: 'http://127.0.0.1/cb' }));
});

t.test('case 10: redirect_uri is required, whether 2 or 1 are registered', async (t) => {
  errorPage(t, await authorize({ client_id: 'web1' }), 'redirect_uri');
  // README: "redirect_uri always required" (allowOmittingSingleRegisteredRedirectUri: false).
  errorPage(t, await authorize({ client_id: 'spa1' }), 'redirect_uri');
});

t.test('case 11: unknown or missing client_id → 400 page, never a redirect', async (t) => {
  errorPage(t, await authorize({ client_id: 'nobody', redirect_uri: 'https://evil.test/cb' }), 'invalid_client');
  errorPage(t, await authorize({ redirect_uri: 'https://evil.test/cb' }), 'client_id');
  errorPage(t, await authorize({ client_id: '', redirect_uri: 'https://app.test/cb' }), 'client_id');
});

t.test('case 12: a valid redirect with another error → redirect with error, state and iss', async (t) => {
  const checks: [Record<string, string>, string][] = [
    [{ scope: 'openid api:read' }, 'invalid_scope'], // api:read belongs to svc, not to web1
    [{ response_type: 'token' }, 'unsupported_response_type'],
    [{ response_type: 'code id_token' }, 'unsupported_response_type'],
  ];
  for (const [params, error] of checks) {
    t.test(`${JSON.stringify(params)} → ${error}`, async (t) => {
      const answer = await authorize({ client_id: 'web1', redirect_uri: 'https://app.test/cb', ...params });
      t.ok(answer.status === 302 || answer.status === 303, `a redirect (HTTP ${answer.status})`);
      const location = new URL(answer.location ?? 'about:blank');
      t.equal(`${location.origin}${location.pathname}`, 'https://app.test/cb', 'to the registered URI only');
      // The error travels in the response mode of the requested response type:
      // the query for `code`, the fragment for `token` (OAuth 2.0 Multiple Response Types §5).
      const answerParams = location.hash ? new URLSearchParams(location.hash.slice(1)) : location.searchParams;
      t.equal(answerParams.get('error'), error);
      t.equal(answerParams.get('state'), 'st4te');
      t.equal(answerParams.get('iss'), issuer, 'RFC 9207 iss');
      t.notOk(answerParams.get('code') ?? answerParams.get('access_token'), 'no code, no token');
    });
  }
});

t.test('case 13: a token request whose redirect_uri differs → invalid_grant', async (t) => {
  const { code, verifier } = await authorizationCode(issuer);
  const used = [code, verifier, ...Object.values(SECRETS)];
  for (const redirectUri of ['https://app.test/other', 'https://app.test/cb/', 'https://evil.test/cb']) {
    const answer = await tokenRequest(issuer, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri }, { basic: WEB1 });
    assertOAuthError(t, answer, 400, 'invalid_grant', used);
  }
  const missing = await tokenRequest(issuer, { grant_type: 'authorization_code', code, code_verifier: verifier }, { basic: WEB1 });
  t.equal(missing.status, 400, 'no redirect_uri at all is refused too');
  t.notOk(missing.json?.['access_token']);
});

t.test('case 14: hostile redirect URIs are refused at the configuration edge, naming the field', async (t) => {
  for (const uri of ['https://*.app.test/cb', 'javascript:alert(1)', 'data:text/html;base64,PHNjcmlwdD4=', 'https://app.test/cb#frag', '/relative/cb', 'cb']) {
    const error = t.throws(() => parseDeclarativeSetup({
      realms: [{ name: 'default', clients: [{ client_id: 'x', client_secret: 's', redirect_uris: ['https://ok.test/cb', uri] }] }],
    }, { env: {}, nodeEnv: 'test' }), uri) as ConfigError;
    t.equal(error?.field, 'realms[0].clients[0].redirect_uris[1]', `${uri} names the field`);
  }
});

t.test('case 15: return_to on the login and logout routes never leads off-origin', async (t) => {
  const browser = new Browser(issuer);
  const start = await authorize({ client_id: 'web1', redirect_uri: 'https://app.test/cb' });
  const interaction = start.location!;
  for (const target of ['//evil.test', '/\\evil.test', 'https://evil.test', '/%2F%2Fevil.test']) {
    for (const path of [`${interaction}?return_to=${encodeURIComponent(target)}`, `/session/end?return_to=${encodeURIComponent(target)}`]) {
      const response = await browser.request(path);
      const location = response.headers.get('location');
      t.ok(response.status < 500, `${path}: HTTP ${response.status}`);
      if (location) t.equal(new URL(location, issuer).origin, issuer, `${path}: stays on our origin`);
    }
  }
  // A login POST with return_to still ends at the registered redirect URI only.
  const login = await browser.follow(`${interaction}/login?return_to=https%3A%2F%2Fevil.test`, { method: 'POST', form: { login: 'alice', password: SECRETS.alice, return_to: 'https://evil.test' } });
  t.ok([issuer, 'https://app.test'].includes(new URL(login.url).origin), `ends on our origin or the registered client (${new URL(login.url).origin})`);
});

t.test('case 16: end-session with an unregistered post_logout_redirect_uri does not redirect there', async (t) => {
  const response = await fetch(`${issuer}/session/end?client_id=web1&post_logout_redirect_uri=${encodeURIComponent('https://evil.test/bye')}`, { redirect: 'manual' });
  t.ok(response.status < 500, `HTTP ${response.status}`);
  t.notMatch(response.headers.get('location') ?? '', /evil\.test/, 'no redirect to the unregistered URI');
});

t.test('no secret reached the logs', async (t) => {
  assertNoLeak(t, server.logs.join(''), Object.values(SECRETS), 'the logs');
});
