import * as oidc from 'openid-client';
import t, { type Test } from 'tap';
import { Browser } from '../helpers/browserless.ts';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { SECRETS } from '../helpers/setups.ts';
import { assertNoLeak, assertOAuthError, tokenRequest, type ClientCredentials } from '../helpers/token-requests.ts';

// SECURITY-CATALOG cases 17–25: PKCE (RFC 7636, RFC 9700 §2.1.1/§4.8, ASVS
// 10.4.6). Latchkey requires S256 PKCE of every client, confidential ones too.

const server = await startLatchkey(t);
const { issuer } = server;
const WEB1: ClientCredentials = ['web1', SECRETS.web1];
const used = new Set<string>(Object.values(SECRETS));

const CLIENTS = {
  spa1: { redirect_uri: 'https://spa.test/cb' },
  web1: { redirect_uri: 'https://app.test/cb' },
} as const;

/** GET /auth for a client with the given PKCE parameters; returns the error the client receives, or the interaction. */
async function authorize(clientId: keyof typeof CLIENTS, pkce: Record<string, string | undefined>) {
  const query = new URLSearchParams({ client_id: clientId, response_type: 'code', scope: 'openid', state: 'pkce-state', ...CLIENTS[clientId] });
  for (const [key, value] of Object.entries(pkce)) if (value !== undefined) query.set(key, value);
  const response = await fetch(`${issuer}/auth?${query}`, { redirect: 'manual' });
  return { status: response.status, location: new URL(response.headers.get('location') ?? '/', issuer) };
}

function refusedWith(t: Test, answer: Awaited<ReturnType<typeof authorize>>, clientId: keyof typeof CLIENTS, error = 'invalid_request'): void {
  t.ok(answer.status === 302 || answer.status === 303, `redirected back to the client (HTTP ${answer.status})`);
  t.equal(`${answer.location.origin}${answer.location.pathname}`, CLIENTS[clientId].redirect_uri);
  t.equal(answer.location.searchParams.get('error'), error);
  t.equal(answer.location.searchParams.get('state'), 'pkce-state');
  t.notOk(answer.location.searchParams.get('code'), 'no code');
}

/** A code for web1 issued against `challenge`, by signing in as alice. */
async function codeFor(challenge: string): Promise<string> {
  const query = new URLSearchParams({
    client_id: 'web1', response_type: 'code', scope: 'openid', state: 's', redirect_uri: CLIENTS.web1.redirect_uri,
    code_challenge: challenge, code_challenge_method: 'S256',
  });
  const callback = await new Browser(issuer).authorize(`${issuer}/auth?${query}`, { login: 'alice', password: SECRETS.alice });
  const code = callback.searchParams.get('code')!;
  used.add(code);
  return code;
}

const redeem = (code: string, extra: Record<string, string>) =>
  tokenRequest(issuer, { grant_type: 'authorization_code', code, redirect_uri: CLIENTS.web1.redirect_uri, ...extra }, { basic: WEB1 });

t.test('case 17: a public client without code_challenge → invalid_request', async (t) => {
  refusedWith(t, await authorize('spa1', {}), 'spa1');
});

t.test('case 18: code_challenge_method=plain → invalid_request', async (t) => {
  const verifier = oidc.randomPKCECodeVerifier();
  refusedWith(t, await authorize('spa1', { code_challenge: verifier, code_challenge_method: 'plain' }), 'spa1');
  refusedWith(t, await authorize('web1', { code_challenge: verifier, code_challenge_method: 'plain' }), 'web1');
});

t.test('case 19: a challenge without a method, or a method without a challenge → invalid_request', async (t) => {
  const challenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
  // RFC 7636 §4.3: without a method the challenge is "plain", which Latchkey does not accept.
  refusedWith(t, await authorize('spa1', { code_challenge: challenge }), 'spa1');
  refusedWith(t, await authorize('spa1', { code_challenge_method: 'S256' }), 'spa1');
  refusedWith(t, await authorize('spa1', { code_challenge: challenge, code_challenge_method: 'S512' }), 'spa1');
});

t.test('case 20: a challenge of the wrong length or alphabet → invalid_request', async (t) => {
  for (const challenge of ['a'.repeat(42), 'a'.repeat(129), `${'a'.repeat(40)}+/=`, `${'a'.repeat(42)}=`, `${'a'.repeat(42)} `]) {
    t.test(JSON.stringify(challenge.slice(-4)), async (t) => refusedWith(t, await authorize('spa1', { code_challenge: challenge, code_challenge_method: 'S256' }), 'spa1'));
  }
  const control = await authorize('spa1', { code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' });
  t.match(control.location.pathname, /^\/interaction\//, 'control: 43 characters of the right alphabet are accepted');
});

t.test('case 21: no code_verifier although a challenge was stored → invalid_grant', async (t) => {
  const verifier = oidc.randomPKCECodeVerifier();
  const code = await codeFor(await oidc.calculatePKCECodeChallenge(verifier));
  assertOAuthError(t, await redeem(code, {}), 400, 'invalid_grant', [...used]);
});

t.test('case 22: a wrong code_verifier → invalid_grant, no tokens', async (t) => {
  const verifier = oidc.randomPKCECodeVerifier();
  const code = await codeFor(await oidc.calculatePKCECodeChallenge(verifier));
  assertOAuthError(t, await redeem(code, { code_verifier: oidc.randomPKCECodeVerifier() }), 400, 'invalid_grant', [...used]);
  // The challenge itself is not the verifier (a "plain" downgrade at the token endpoint).
  const code2 = await codeFor(await oidc.calculatePKCECodeChallenge(verifier));
  assertOAuthError(t, await redeem(code2, { code_verifier: await oidc.calculatePKCECodeChallenge(verifier) }), 400, 'invalid_grant', [...used]);
});

t.test('case 23: a code_verifier of bad length or alphabet → 400, no tokens', async (t) => {
  const verifier = oidc.randomPKCECodeVerifier();
  for (const bad of ['a'.repeat(42), 'a'.repeat(129), `${verifier.slice(0, 40)}+/=`, `${verifier.slice(0, 42)}\u00e9`]) {
    const code = await codeFor(await oidc.calculatePKCECodeChallenge(verifier));
    const answer = await redeem(code, { code_verifier: bad });
    t.equal(answer.status, 400, `HTTP 400 for …${bad.slice(-4)}`);
    t.ok(['invalid_request', 'invalid_grant'].includes(String(answer.json?.['error'])), `an OAuth error (${String(answer.json?.['error'])})`);
    t.notOk(answer.json?.['access_token'], 'no token');
  }
});

t.test('cases 24 and 25: PKCE is required of confidential clients too, so there is nothing to downgrade', async (t) => {
  // Case 25: web1 (confidential) without a challenge is refused at the authorization endpoint.
  refusedWith(t, await authorize('web1', {}), 'web1');
  // Case 24: no code can be obtained without a challenge, so a verifier can never be
  // presented for a challenge-less code; and a verifier for a code issued with a
  // different challenge is refused.
  const code = await codeFor(await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()));
  assertOAuthError(t, await redeem(code, { code_verifier: oidc.randomPKCECodeVerifier() }), 400, 'invalid_grant', [...used]);
});

t.test('control: the right verifier gets tokens', async (t) => {
  const verifier = oidc.randomPKCECodeVerifier();
  const code = await codeFor(await oidc.calculatePKCECodeChallenge(verifier));
  const answer = await redeem(code, { code_verifier: verifier });
  t.equal(answer.status, 200);
  t.ok(answer.json?.['access_token']);
  for (const key of ['access_token', 'id_token', 'refresh_token']) if (answer.json?.[key]) used.add(String(answer.json[key]));
});

t.test('no code, token or secret reached the logs', async (t) => {
  assertNoLeak(t, server.logs.join(''), [...used], 'the logs');
});
