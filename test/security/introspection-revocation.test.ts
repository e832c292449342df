import t from 'tap';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { codeFlow } from '../helpers/relying-party.ts';
import { demoSetup, SECRETS } from '../helpers/setups.ts';
import {
  assertNoLeak, assertNoStore, assertOAuthError, authorizationCode, introspect, isActive, postForm, refreshRequest, revoke,
  tokenRequest, type ClientCredentials,
} from '../helpers/token-requests.ts';
import { lifetimeOver } from '../helpers/waiting.ts';

// SECURITY-CATALOG cases 53–63: introspection (RFC 7662) and revocation (RFC 7009).
// Case 64 (revocation while the database is down) lives in test/faults.

const server = await startLatchkey(t);
const { issuer } = server;
const WEB1: ClientCredentials = ['web1', SECRETS.web1];
const WEB2: ClientCredentials = ['web2', SECRETS.web2];
const RS: ClientCredentials = ['rs', SECRETS.rs];
/** RFC 7662 §2.2: an inactive answer carries nothing else. */
const INACTIVE = '{"active":false}';

/** Every token, code and secret this file handles: none may reach an error body or the logs. */
const used = new Set<string>(Object.values(SECRETS));
const secrets = () => [...used];

async function signIn(on = issuer) {
  const { tokens } = await codeFlow(on);
  for (const value of [tokens.access_token, tokens.refresh_token, tokens.id_token]) if (value) used.add(value);
  return tokens as typeof tokens & { refresh_token: string; id_token: string };
}

t.test('case 53: introspection without client authentication → refused, no token data', async (t) => {
  const { access_token: at } = await signIn();
  const anonymous = await introspect(issuer, at);
  assertOAuthError(t, anonymous, 400, 'invalid_request', secrets());
  t.equal(anonymous.json?.['error_description'], 'no client authentication mechanism provided');
  const idOnly = await introspect(issuer, at, undefined, { client_id: 'web1' });
  assertOAuthError(t, idOnly, 401, 'invalid_client', secrets());
  const wrongSecret = await introspect(issuer, at, ['rs', 'not-the-secret']);
  assertOAuthError(t, wrongSecret, 401, 'invalid_client', secrets());
  for (const answer of [anonymous, idOnly, wrongSecret]) {
    t.notOk('active' in (answer.json ?? {}) || 'sub' in (answer.json ?? {}) || 'scope' in (answer.json ?? {}), 'no token data');
  }
  t.ok(await isActive(issuer, at, RS), 'control: the token is active');
});

t.test("case 54: another client introspecting web1's tokens gets {active:false} only", async (t) => {
  const tokens = await signIn();
  for (const [label, token] of [['access token', tokens.access_token], ['refresh token', tokens.refresh_token]] as const) {
    const byWeb2 = await introspect(issuer, token, WEB2);
    t.equal(byWeb2.status, 200);
    assertNoStore(t, byWeb2);
    t.equal(byWeb2.text, INACTIVE, `web2 → exactly {"active":false} for web1's ${label}`);
    const bySpa = await introspect(issuer, token, undefined, { client_id: 'spa1' });
    t.equal(bySpa.text, INACTIVE, `spa1 (public) → exactly {"active":false} for web1's ${label}`);
    t.equal((await introspect(issuer, token, WEB1)).json?.['active'], true, `control: web1 sees its own ${label}`);
    t.equal((await introspect(issuer, token, RS)).json?.['client_id'], 'web1', `control: rs (introspection permission) sees web1's ${label}`);
  }
});

t.test('case 55: revoked, consumed and rotated tokens → exactly {"active":false}', async (t) => {
  const revoked = await signIn();
  t.equal((await revoke(issuer, revoked.access_token, WEB1)).status, 200);
  const rotated = await signIn();
  const next = await refreshRequest(issuer, rotated.refresh_token, WEB1);
  t.equal(next.status, 200);
  used.add(next.json?.['access_token']).add(next.json?.['refresh_token']);
  for (const [label, token] of [['revoked access token', revoked.access_token], ['rotated (consumed) refresh token', rotated.refresh_token]] as const) {
    for (const asClient of [WEB1, RS]) {
      const answer = await introspect(issuer, token, asClient);
      assertNoStore(t, answer);
      t.equal(answer.text, INACTIVE, `${label}, asked by ${asClient[0]}`);
    }
  }
  t.equal((await introspect(issuer, next.json?.['refresh_token'], WEB1)).json?.['active'], true, 'control: the new refresh token is active');
});

t.test('case 55: an expired access token → exactly {"active":false}', async (t) => {
  const short = await startLatchkey(t, { setup: demoSetup({ ttl: { access_token: 1 } }) });
  const tokens = await signIn(short.issuer);
  // The token's lifetime runs on oidc-provider's clock and the database's, which no test can move.
  await lifetimeOver(Date.now(), 1);
  t.equal((await introspect(short.issuer, tokens.access_token, RS)).text, INACTIVE);
  t.equal((await introspect(short.issuer, tokens.access_token, WEB1)).text, INACTIVE);
  t.ok(await isActive(short.issuer, tokens.refresh_token, RS), 'control: the refresh token outlives it');
  assertNoLeak(t, short.logs.join(''), secrets(), 'the logs');
});

t.test('case 56: a wrong or unknown token_type_hint changes nothing', async (t) => {
  const tokens = await signIn();
  const spent = await signIn();
  await revoke(issuer, spent.refresh_token, WEB1);
  for (const [label, token] of [
    ['access token', tokens.access_token], ['refresh token', tokens.refresh_token], ['revoked refresh token', spent.refresh_token],
  ] as const) {
    const plain = (await introspect(issuer, token, RS)).json;
    for (const hint of ['access_token', 'refresh_token', 'urn:ietf:params:oauth:token-type:refresh_token', 'id_token', 'foo']) {
      const hinted = await introspect(issuer, token, RS, { token_type_hint: hint });
      t.equal(hinted.status, 200);
      t.same(hinted.json, plain, `${label} with hint ${hint} → same answer as without`);
    }
  }
});

// Case 57 said 400 unsupported_token_type for any JWT: that was the engine's
// answer while it issued no JWT access tokens. Since issue 10 a JWT may be
// an access token, so every JWT is judged like any other token: active only
// when it is a live JWT access token of this realm, else exactly inactive
// (test/tokens/jwt-access-tokens.test.ts has the hostile ones). Never active:true.
t.test('case 57: an ID token or any other JWT is inactive, never active; an authorization code is not a token', async (t) => {
  const tokens = await signIn();
  const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"alice","active":true}').toString('base64url')}.`;
  for (const [label, jwt] of [['id_token', tokens.id_token], ['hand-made unsigned JWT', unsigned]] as const) {
    for (const asClient of [WEB1, RS]) {
      t.equal((await introspect(issuer, jwt, asClient)).text, INACTIVE, `${label} introspected by ${asClient[0]} → inactive`);
    }
    const revoked = await revoke(issuer, jwt, WEB1);
    t.equal(revoked.status, 200, `${label} at revocation: 200, nothing to revoke (RFC 7009 §2.2)`);
    t.equal(revoked.text, '');
  }

  const { code, verifier, redirectUri } = await authorizationCode(issuer);
  used.add(code).add(verifier);
  for (const asClient of [WEB1, RS]) {
    t.equal((await introspect(issuer, code, asClient)).text, INACTIVE, `code introspected by ${asClient[0]} → inactive`);
  }
  const redeemed = await tokenRequest(issuer, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri }, { basic: WEB1 });
  t.equal(redeemed.status, 200, 'introspecting the code neither consumed nor leaked it; web1 still redeems it');
  for (const key of ['access_token', 'refresh_token', 'id_token']) if (redeemed.json?.[key]) used.add(redeemed.json[key]);
});

t.test('case 58: a 50 KB garbage token → inactive or 400, never 5xx', async (t) => {
  const garbage = 'A'.repeat(50 * 1024);
  const introspected = await introspect(issuer, garbage, RS);
  t.ok(introspected.status === 400 || introspected.text === INACTIVE, `introspection: ${introspected.status} ${introspected.text.slice(0, 80)}`);
  const revoked = await revoke(issuer, garbage, WEB1);
  t.ok(revoked.status === 200 || revoked.status === 400, `revocation: ${revoked.status}`);
  // NUL bytes, invalid UTF-8 (%C3%28) and a long multi-byte tail, sent as a raw form body.
  const weird = await postForm(`${issuer}/token/introspection`, `token=%00%00%C3%28${encodeURIComponent('€'.repeat(5000))}`, { basic: RS });
  t.ok(weird.status === 400 || weird.text === INACTIVE, `NUL and invalid UTF-8: ${weird.status} ${weird.text.slice(0, 80)}`);
});

t.test('case 59: an id_token or a refresh token is not a bearer token at userinfo', async (t) => {
  const tokens = await signIn();
  for (const [label, token] of [['id_token', tokens.id_token], ['refresh token', tokens.refresh_token]] as const) {
    const response = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${token}` } });
    t.equal(response.status, 401, `${label} → 401`);
    t.match(response.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/, `${label} → invalid_token challenge`);
    assertNoLeak(t, await response.text(), secrets());
  }
  t.equal((await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status, 200, 'control: the access token works');
});

t.test('case 60: revoking a refresh token ends the grant', async (t) => {
  const tokens = await signIn();
  const revoked = await revoke(issuer, tokens.refresh_token, WEB1, { token_type_hint: 'refresh_token' });
  t.equal(revoked.status, 200);
  t.equal(revoked.text, '', 'empty body');
  assertOAuthError(t, await refreshRequest(issuer, tokens.refresh_token, WEB1), 400, 'invalid_grant', secrets());
  t.equal((await introspect(issuer, tokens.access_token, RS)).text, INACTIVE, "the grant's access token is inactive");
  t.equal((await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status, 401, 'and refused at userinfo');
});

t.test('case 61: revoking a garbage or unknown token → 200', async (t) => {
  for (const token of ['garbage', 'x'.repeat(43), 'an unknown token with spaces', 'Zm9v']) {
    for (const hint of [{}, { token_type_hint: 'access_token' }, { token_type_hint: 'refresh_token' }, { token_type_hint: 'foo' }] as Record<string, string>[]) {
      const answer = await revoke(issuer, token, WEB1, hint);
      t.equal(answer.status, 200, `${token.slice(0, 12)} ${JSON.stringify(hint)}`);
    }
  }
  const empty = await revoke(issuer, '', WEB1);
  assertOAuthError(t, empty, 400, 'invalid_request', secrets());
});

t.test("case 62: another client cannot revoke web1's tokens", async (t) => {
  const tokens = await signIn();
  for (const [label, token] of [['access token', tokens.access_token], ['refresh token', tokens.refresh_token]] as const) {
    const byWeb2 = await revoke(issuer, token, WEB2);
    t.test(`web2 (confidential) → 400 invalid_request for web1's ${label}`, async (t) => assertOAuthError(t, byWeb2, 400, 'invalid_request', secrets()));
    // oidc-provider's policy: a public caller gets a silent no-op, so it cannot probe for tokens.
    const bySpa = await revoke(issuer, token, undefined, { client_id: 'spa1' });
    t.equal(bySpa.status, 200, `spa1 (public) → 200 for web1's ${label}`);
    t.equal(bySpa.text, '');
    t.equal((await introspect(issuer, token, WEB1)).json?.['active'], true, `web1's ${label} is still active`);
  }
  await refreshRequest(issuer, tokens.refresh_token, WEB1).then((r) => {
    t.equal(r.status, 200, 'and web1 can still refresh');
    used.add(r.json?.['access_token']).add(r.json?.['refresh_token']);
  });
});

t.test('case 63: revocation without client authentication → refused, the token stays active', async (t) => {
  const tokens = await signIn();
  const anonymous = await revoke(issuer, tokens.access_token);
  assertOAuthError(t, anonymous, 400, 'invalid_request', secrets());
  const idOnly = await revoke(issuer, tokens.refresh_token, undefined, { client_id: 'web1' });
  assertOAuthError(t, idOnly, 401, 'invalid_client', secrets());
  const wrongSecret = await revoke(issuer, tokens.access_token, ['web1', 'not-the-secret']);
  assertOAuthError(t, wrongSecret, 401, 'invalid_client', secrets());
  t.ok(await isActive(issuer, tokens.access_token, WEB1), 'the access token is still active');
  t.ok(await isActive(issuer, tokens.refresh_token, WEB1), 'the refresh token is still active');
});

t.test('no token, code or secret of this file reached the logs', async (t) => {
  t.ok(used.size > 20, `${used.size} values checked`);
  assertNoLeak(t, server.logs.join(''), secrets(), 'the logs');
});
