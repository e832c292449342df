import t, { type Test } from 'tap';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { SECRETS } from '../helpers/setups.ts';
import {
  assertNoLeak, assertNoStore, assertOAuthError, basicAuthorization, rawBasicAuthorization, tokenRequest,
  type ClientCredentials,
} from '../helpers/token-requests.ts';

// SECURITY-CATALOG cases 42–52 (49, the brake on wrong secrets, lives in brute-force.test.ts):
// client authentication at the token endpoint (RFC 6749 §2.3, §5.2).

const server = await startLatchkey(t);
const { issuer, latchkey } = server;
const SVC: ClientCredentials = ['svc', SECRETS.svc];
const WEB1: ClientCredentials = ['web1', SECRETS.web1];
const WEIRD: ClientCredentials = ['weird', 'a+b:c%d'];
const CLIENT_CREDENTIALS = { grant_type: 'client_credentials', scope: 'api:read' };

/** Every token and secret this file handles: none may reach an error body or the logs. */
const used = new Set<string>([...Object.values(SECRETS), WEIRD[1]]);
const secrets = () => [...used];

function issued(t: Test, response: Awaited<ReturnType<typeof tokenRequest>>): void {
  t.equal(response.status, 200, `token issued${response.status === 200 ? '' : ` (${response.text})`}`);
  t.ok(response.json?.['access_token']);
  assertNoStore(t, response);
  if (response.json?.['access_token']) used.add(response.json['access_token']);
}

t.test('control: svc authenticates with Basic and with client_secret_post', async (t) => {
  issued(t, await tokenRequest(issuer, CLIENT_CREDENTIALS, { basic: SVC }));
  issued(t, await tokenRequest(issuer, { ...CLIENT_CREDENTIALS, client_id: 'svc', client_secret: SECRETS.svc }));
});

t.test('case 42: wrong secret via Basic → 401 invalid_client + WWW-Authenticate: Basic realm', async (t) => {
  const wrong = await tokenRequest(issuer, CLIENT_CREDENTIALS, { basic: ['svc', 'not-the-secret'] });
  assertOAuthError(t, wrong, 401, 'invalid_client', [...secrets(), 'not-the-secret']);
  const challenge = wrong.headers.get('www-authenticate') ?? '';
  t.match(challenge, /^Basic realm="http:\/\/127\.0\.0\.1:\d+"/, 'Basic challenge naming the issuer as realm');
  t.match(challenge, /error="invalid_client"/);
  t.notMatch(challenge, /not-the-secret/);
});

t.test('case 43: wrong secret via client_secret_post → 401 invalid_client, no Basic challenge', async (t) => {
  const wrong = await tokenRequest(issuer, { ...CLIENT_CREDENTIALS, client_id: 'svc', client_secret: 'not-the-secret' });
  assertOAuthError(t, wrong, 401, 'invalid_client', [...secrets(), 'not-the-secret']);
  t.equal(wrong.headers.get('www-authenticate'), null, 'no Authorization header was sent, so no challenge (RFC 6749 §5.2)');
});

t.test('case 44: unknown client_id → 401 invalid_client, indistinguishable from a wrong secret', async (t) => {
  const unknown = await tokenRequest(issuer, CLIENT_CREDENTIALS, { basic: ['no-such-client', 'whatever'] });
  const wrong = await tokenRequest(issuer, CLIENT_CREDENTIALS, { basic: ['web1', 'whatever'] });
  assertOAuthError(t, unknown, 401, 'invalid_client', secrets());
  assertOAuthError(t, wrong, 401, 'invalid_client', secrets());
  t.equal(unknown.text, wrong.text, 'identical bodies');
  t.equal(unknown.headers.get('www-authenticate'), wrong.headers.get('www-authenticate'), 'identical challenges');
  const unknownPost = await tokenRequest(issuer, { ...CLIENT_CREDENTIALS, client_id: 'no-such-client', client_secret: 'whatever' });
  assertOAuthError(t, unknownPost, 401, 'invalid_client', secrets());
});

t.test('case 45: secret in both the Basic header and the body → 400 invalid_request', async (t) => {
  const both = await tokenRequest(issuer, { ...CLIENT_CREDENTIALS, client_secret: SECRETS.svc }, { basic: SVC });
  assertOAuthError(t, both, 400, 'invalid_request', secrets());
  t.equal(both.json?.['error_description'], 'client authentication must only be provided using one mechanism');
  const bothWithId = await tokenRequest(issuer, { ...CLIENT_CREDENTIALS, client_id: 'svc', client_secret: SECRETS.svc }, { basic: SVC });
  assertOAuthError(t, bothWithId, 400, 'invalid_request', secrets());
});

t.test('case 46: Basic client_id differs from the body client_id → 400 invalid_request', async (t) => {
  const mismatch = await tokenRequest(issuer, { ...CLIENT_CREDENTIALS, client_id: 'rs' }, { basic: SVC });
  assertOAuthError(t, mismatch, 400, 'invalid_request', secrets());
  t.equal(mismatch.json?.['error_description'], 'client_id mismatch');
});

t.test('case 47: Basic credentials must be form-urlencoded (RFC 6749 App. B); garbage headers are refused', async (t) => {
  await latchkey.services.clients.put('default', {
    client_id: 'weird', client_secret: WEIRD[1], token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'], response_types: [], redirect_uris: [], post_logout_redirect_uris: [], scope: 'api:read',
  });

  t.equal(basicAuthorization(WEIRD), `Basic ${Buffer.from('weird:a%2Bb%3Ac%25d').toString('base64')}`, 'the encoding under test');
  issued(t, await tokenRequest(issuer, CLIENT_CREDENTIALS, { basic: WEIRD }));

  // Policy (oidc-provider's): raw "%d" is not a valid percent-escape, so the
  // header cannot be decoded at all — a malformed request, not a wrong secret.
  const raw = await tokenRequest(issuer, CLIENT_CREDENTIALS, { authorization: rawBasicAuthorization(WEIRD) });
  assertOAuthError(t, raw, 400, 'invalid_request', secrets());
  t.equal(raw.json?.['error_description'], 'client_id and client_secret in the authorization header are not properly encoded');

  // Decodable but not encoded: the raw "+" turns into a space → a different, wrong secret.
  const plusNotEncoded = await tokenRequest(issuer, CLIENT_CREDENTIALS, {
    authorization: `Basic ${Buffer.from('weird:a+b:c%25d').toString('base64')}`,
  });
  assertOAuthError(t, plusNotEncoded, 401, 'invalid_client', secrets());
  t.match(plusNotEncoded.headers.get('www-authenticate') ?? '', /^Basic realm=/);

  for (const [label, authorization] of [
    ['not base64', 'Basic %%%not-base64%%%'],
    ['base64 without a colon', `Basic ${Buffer.from('weird').toString('base64')}`],
    ['no credentials after the scheme', 'Basic'],
    ['base64 of an empty secret', `Basic ${Buffer.from('weird:').toString('base64')}`],
  ] as const) {
    const garbage = await tokenRequest(issuer, CLIENT_CREDENTIALS, { authorization });
    t.test(label, async (t) => assertOAuthError(t, garbage, 400, 'invalid_request', secrets()));
  }
});

t.test('case 50: a public client (auth none) asking for client_credentials → refused, no token', async (t) => {
  const spa = await tokenRequest(issuer, { ...CLIENT_CREDENTIALS, client_id: 'spa1' });
  // RFC 6749 §5.2: "unauthorized_client — the authenticated client is not authorized to use this grant type".
  assertOAuthError(t, spa, 400, 'unauthorized_client', secrets());
});

t.test('case 51: client_credentials scopes are limited to the client\'s own', async (t) => {
  const admin = await tokenRequest(issuer, { grant_type: 'client_credentials', scope: 'api:admin' }, { basic: SVC });
  t.test('svc asks for api:admin, a scope no client has', async (t) => assertOAuthError(t, admin, 400, 'invalid_scope', secrets()));
  const mixed = await tokenRequest(issuer, { grant_type: 'client_credentials', scope: 'api:read api:admin' }, { basic: SVC });
  t.test('svc asks for api:read plus api:admin', async (t) => assertOAuthError(t, mixed, 400, 'invalid_scope', secrets()));
  for (const scope of ['openid', 'email', 'openid email']) {
    const oidcScope = await tokenRequest(issuer, { grant_type: 'client_credentials', scope }, { basic: SVC });
    t.test(`svc asks for ${scope}, not assigned to it`, async (t) => assertOAuthError(t, oidcScope, 400, 'invalid_scope', secrets()));
  }
  const web1 = await tokenRequest(issuer, CLIENT_CREDENTIALS, { basic: WEB1 });
  t.test('web1 (no client_credentials grant) asks for api:read', async (t) => assertOAuthError(t, web1, 400, 'unauthorized_client', secrets()));

  const allowed = await tokenRequest(issuer, { grant_type: 'client_credentials', scope: 'api:read api:write' }, { basic: SVC });
  issued(t, allowed);
  t.equal(allowed.json?.['scope'], 'api:read api:write', 'control: its own scopes are granted');
});

t.test('case 52: unsupported or unallowed grant types → no token', async (t) => {
  // The password grant (RFC 9700 §2.4: not to be used) is opt-in per client since issue 10: for a client
  // that did not ask for it, it is unallowed (test/tokens/password-grant.test.ts has the rest).
  const password = await tokenRequest(issuer, { grant_type: 'password', username: 'alice', password: SECRETS.alice, scope: 'openid' }, { basic: WEB1 });
  assertOAuthError(t, password, 400, 'unauthorized_client', secrets());
  const foo = await tokenRequest(issuer, { grant_type: 'foo' }, { basic: SVC });
  assertOAuthError(t, foo, 400, 'unsupported_grant_type', secrets());
  const implicit = await tokenRequest(issuer, { grant_type: 'implicit' }, { basic: SVC });
  assertOAuthError(t, implicit, 400, 'unsupported_grant_type', secrets());
  const notAllowed = await tokenRequest(issuer, { grant_type: 'refresh_token', refresh_token: 'x'.repeat(43) }, { basic: SVC });
  t.test('svc (client_credentials only) uses refresh_token', async (t) => assertOAuthError(t, notAllowed, 400, 'unauthorized_client', secrets()));
});

t.test('no token or secret of this file reached the logs', async (t) => {
  t.ok(used.size > Object.keys(SECRETS).length, `${used.size} values checked`);
  assertNoLeak(t, server.logs.join(''), secrets(), 'the logs');
});
