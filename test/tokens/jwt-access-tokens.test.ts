import * as jose from 'jose';
import * as oidc from 'openid-client';
import t from 'tap';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { codeFlow } from '../helpers/relying-party.ts';
import { demoSetupDocument, parseSetup, SECRETS } from '../helpers/setups.ts';
import { introspect, postForm, tokenRequest } from '../helpers/token-requests.ts';
import { until } from '../helpers/waiting.ts';

// Issue 10: resource servers (RFC 8707) and JWT access tokens (RFC 9068) that
// stay introspectable and revocable.
const ORDERS = 'https://orders.example.com';
const LEGACY = 'api://legacy';
const document = demoSetupDocument();
const realm = document.realms[0]!;
realm['resource_servers'] = [
  { identifier: ORDERS, scopes: ['orders:read', 'orders:write'] },
  { identifier: LEGACY, scopes: ['legacy:read'], access_token: { algorithm: 'RS256', lifetime: 120 } },
  { identifier: 'https://opaque.example.com', scopes: ['opaque:read'], access_token: { format: 'opaque' } },
  // Long enough to be introspected once while active (then remembered by the verifier), short enough to wait out.
  { identifier: 'api://short', scopes: ['short:read'], access_token: { lifetime: 3 } },
];
const web1 = realm.clients!.find((client) => client['client_id'] === 'web1')!;
web1['scope'] = `${String(web1['scope'])} orders:read`;
realm.clients!.push(
  {
    client_id: 'doomed-svc', client_secret: 'doomed-svc-secret-for-tests', token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'], response_types: [], redirect_uris: [], post_logout_redirect_uris: [],
    scope: 'orders:read', default_resource: ORDERS,
  },
  {
    client_id: 'orders-svc', client_secret: 'orders-svc-secret-for-tests', token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'], response_types: [], redirect_uris: [], post_logout_redirect_uris: [],
    scope: 'orders:read legacy:read opaque:read short:read', default_resource: ORDERS,
  },
);
// A second realm with the same API: its tokens mean nothing in the first.
document.realms.push({
  name: 'other',
  resource_servers: [{ identifier: ORDERS, scopes: ['orders:read'] }],
  clients: [{
    client_id: 'orders-svc', client_secret: 'orders-svc-secret-for-tests', token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'], response_types: [], redirect_uris: [], post_logout_redirect_uris: [],
    scope: 'orders:read', default_resource: ORDERS,
  }],
});
const { issuer, latchkey } = await startLatchkey(t, { setup: parseSetup(document), logLevel: 'silent' });
const ordersSvc = ['orders-svc', 'orders-svc-secret-for-tests'] as const;
const rs = ['rs', SECRETS.rs] as const;
const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/jwks`));

async function issue(form: Record<string, string>): Promise<string> {
  const response = await tokenRequest(issuer, { grant_type: 'client_credentials', ...form }, { basic: ordersSvc });
  if (response.status !== 200) throw new Error(`token request failed: ${response.status} ${response.text}`);
  return response.json!.access_token as string;
}

t.test('client credentials for a resource server: an RFC 9068 JWT that jose verifies', async (t) => {
  const token = await issue({ scope: 'orders:read', resource: ORDERS });
  const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, { issuer, audience: ORDERS, typ: 'at+jwt' });
  t.equal(protectedHeader.alg, 'ES256', 'ES256 by default');
  t.equal(payload.client_id, 'orders-svc');
  t.equal(payload.sub, 'orders-svc');
  t.equal(payload.scope, 'orders:read');
  t.type(payload.jti, 'string');
  t.ok(payload.exp! > payload.iat!);
});

t.test('the client default resource applies when it names none', async (t) => {
  const token = await issue({ scope: 'orders:read' });
  const { payload } = await jose.jwtVerify(token, jwks, { issuer, audience: ORDERS, typ: 'at+jwt' });
  t.equal(payload.aud, ORDERS);
});

t.test('per resource server: RS256 and its own lifetime; opaque where its policy says so', async (t) => {
  const legacy = await issue({ scope: 'legacy:read', resource: LEGACY });
  const { payload, protectedHeader } = await jose.jwtVerify(legacy, jwks, { issuer, audience: LEGACY, typ: 'at+jwt' });
  t.equal(protectedHeader.alg, 'RS256');
  t.equal(payload.exp! - payload.iat!, 120);
  const opaque = await issue({ scope: 'opaque:read', resource: 'https://opaque.example.com' });
  t.notOk(opaque.includes('.'), 'an opaque token');
});

t.test('an unknown resource is invalid_target', async (t) => {
  const response = await tokenRequest(issuer, { grant_type: 'client_credentials', scope: 'orders:read', resource: 'https://elsewhere.example.com' }, { basic: ordersSvc });
  t.equal(response.status, 400);
  t.equal(response.json?.error, 'invalid_target');
});

t.test('introspection answers for a JWT as for an opaque token; revocation ends it at once', async (t) => {
  const token = await issue({ scope: 'orders:read', resource: ORDERS });
  const answer = (await introspect(issuer, token, rs)).json!;
  t.equal(answer.active, true);
  t.equal(answer.client_id, 'orders-svc');
  t.equal(answer.scope, 'orders:read');
  t.equal(answer.aud, ORDERS);
  for (const hint of ['refresh_token', 'access_token', 'nonsense']) {
    const hinted = await postForm(`${issuer}/token/introspection`, { token, token_type_hint: hint }, { basic: rs });
    t.equal(hinted.json?.active, true, `token_type_hint=${hint} changes nothing`);
  }
  const { payload } = await jose.jwtVerify(token, jwks, { issuer, audience: ORDERS });
  t.equal((await introspect(issuer, payload.jti!, rs)).json?.active, false, 'its jti alone is no token');

  const revoked = await postForm(`${issuer}/token/revocation`, { token }, { basic: ordersSvc });
  t.equal(revoked.status, 200);
  t.same((await introspect(issuer, token, rs)).json, { active: false }, 'inactive once revoked, and nothing else');
});

t.test('tampered, unsigned and foreign JWTs are inactive, and nothing else', async (t) => {
  const token = await issue({ scope: 'orders:read', resource: ORDERS });
  t.equal((await introspect(issuer, token, rs)).json?.active, true, 'the genuine one, verified and remembered first');
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const cases: Record<string, string> = {
    'tampered scope': `${header}.${encode({ ...claims, scope: 'orders:write' })}.${signature}`,
    'alg none': `${encode({ alg: 'none', typ: 'at+jwt' })}.${payload}.`,
    'signed by a key of its own': await new jose.SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: JSON.parse(Buffer.from(header, 'base64url').toString()).kid })
      .sign((await jose.generateKeyPair('ES256')).privateKey),
  };
  for (const [name, forged] of Object.entries(cases)) {
    t.same((await introspect(issuer, forged, rs)).json, { active: false }, name);
  }
  t.equal((await introspect(issuer, token, rs)).json?.active, true, 'the genuine one is still active');
});

t.test('code flow for a resource server: a JWT for the API, refreshed as a JWT; refresh-token reuse ends them all', async (t) => {
  const { tokens, config } = await codeFlow(issuer, { scope: 'openid orders:read offline_access', parameters: { resource: ORDERS } });
  const { payload } = await jose.jwtVerify(tokens.access_token, jwks, { issuer, audience: ORDERS, typ: 'at+jwt' });
  t.equal(payload.client_id, 'web1');
  t.equal(payload.scope, 'orders:read', 'only the API\'s scopes');
  t.type(payload.sub, 'string');
  t.type(payload.auth_time, 'number', 'auth_time where known');
  t.equal((await introspect(issuer, tokens.access_token, rs)).json?.sub, payload.sub, 'introspection names the user');

  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  const { payload: again } = await jose.jwtVerify(refreshed.access_token, jwks, { issuer, audience: ORDERS, typ: 'at+jwt' });
  t.equal(again.sub, payload.sub, 'the refreshed token is a JWT for the same API');

  const replay = await tokenRequest(issuer, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, { basic: ['web1', SECRETS.web1] });
  t.equal(replay.json?.error, 'invalid_grant', 'the rotated refresh token is refused');
  t.same((await introspect(issuer, refreshed.access_token, rs)).json, { active: false }, 'and the grant\'s JWT access tokens are revoked with it');
  t.same((await introspect(issuer, tokens.access_token, rs)).json, { active: false });
});

t.test('hostile JWTs: keys it names, algorithms it picks, another realm, an expired one: inactive, and nothing else', async (t) => {
  const token = await issue({ scope: 'orders:read', resource: ORDERS });
  t.equal((await introspect(issuer, token, rs)).json?.active, true, 'the genuine one, verified and remembered first');
  const [, payload] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as jose.JWTPayload;
  const published = (await (await fetch(`${issuer}/jwks`)).json()) as { keys: (jose.JWK & { kid: string })[] };
  const ec = published.keys.find((k) => k.kty === 'EC')!;
  const rsa = published.keys.find((k) => k.kty === 'RSA')!;
  const attacker = await jose.generateKeyPair('ES256', { extractable: true });
  const attackerJwk = await jose.exportJWK(attacker.publicKey);
  const hmacWith = async (key: jose.JWK) => new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: key.kid! })
    .sign(Buffer.from(await jose.exportSPKI(await jose.importJWK(key, key.kty === 'EC' ? 'ES256' : 'RS256') as jose.CryptoKey)));
  const cases: Record<string, string> = {
    'HS256 keyed with the published EC key': await hmacWith(ec),
    'HS256 keyed with the published RSA key': await hmacWith(rsa),
    'jku pointing elsewhere': await new jose.SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'evil', jku: 'https://evil.example/jwks' }).sign(attacker.privateKey),
    'x5u pointing elsewhere': await new jose.SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'evil', x5u: 'https://evil.example/cert' }).sign(attacker.privateKey),
    'its own key embedded (jwk)': await new jose.SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', jwk: attackerJwk }).sign(attacker.privateKey),
    'a published kid with another algorithm': await new jose.SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: rsa.kid }).sign(attacker.privateKey),
    'tampered aud': (() => { const [h, , sig] = token.split('.'); return `${h}.${Buffer.from(JSON.stringify({ ...claims, aud: 'api://legacy' })).toString('base64url')}.${sig}`; })(),
    'tampered exp': (() => { const [h, , sig] = token.split('.'); return `${h}.${Buffer.from(JSON.stringify({ ...claims, exp: claims.exp! + 3600 })).toString('base64url')}.${sig}`; })(),
    'five parts (JWE-shaped)': `${Buffer.from(JSON.stringify({ alg: 'dir', enc: 'A128GCM' })).toString('base64url')}..AAAA.AAAA.AAAA`,
  };
  for (const [name, forged] of Object.entries(cases)) {
    t.same((await introspect(issuer, forged, rs)).json, { active: false }, name);
    t.equal((await postForm(`${issuer}/token/revocation`, { token: forged }, { basic: ordersSvc })).status, 200, `${name}: revocation answers 200 and does nothing`);
  }

  const foreign = await tokenRequest(`${issuer}/realms/other`, { grant_type: 'client_credentials', scope: 'orders:read' }, { basic: ordersSvc });
  t.equal(foreign.status, 200, 'the other realm issues its own JWT');
  t.same((await introspect(issuer, foreign.json!.access_token as string, rs)).json, { active: false }, 'a JWT of another realm');

  t.equal((await introspect(issuer, token, rs)).json?.active, true, 'the genuine one stayed active through all of it');
});

t.test('an expired JWT is inactive, also once it was introspected while active', async (t) => {
  const token = await issue({ scope: 'short:read', resource: 'api://short' });
  const { exp } = jose.decodeJwt(token);
  t.equal((await introspect(issuer, token, rs)).json?.active, true, 'active, and now remembered as verified');
  // The engine's clock (Date.now() inside oidc-provider) cannot be moved from here.
  await until((exp! + 1) * 1000);
  t.same((await introspect(issuer, token, rs)).json, { active: false });
});

t.test('a JWT access token is no refresh token, and another client cannot revoke it', async (t) => {
  const token = await issue({ scope: 'orders:read', resource: ORDERS });
  const asRefresh = await tokenRequest(issuer, { grant_type: 'refresh_token', refresh_token: token }, { basic: ['web1', SECRETS.web1] });
  t.equal(asRefresh.status, 400);
  t.equal(asRefresh.json?.error, 'invalid_grant');
  const byOther = await postForm(`${issuer}/token/revocation`, { token }, { basic: ['svc', SECRETS.svc] });
  t.not(byOther.status, 500);
  t.equal((await introspect(issuer, token, rs)).json?.active, true, 'still active after another client tried to revoke it');
});

t.test('RFC 9701: a resource server that asks for it gets a signed introspection answer', async (t) => {
  const token = await issue({ scope: 'orders:read', resource: ORDERS });
  for (const [name, candidate] of [['a JWT access token', token], ['an unknown token', 'no-such-token']] as const) {
    const response = await postForm(`${issuer}/token/introspection`, { token: candidate }, { basic: rs, headers: { accept: 'application/token-introspection+jwt' } });
    t.equal(response.status, 200, name);
    t.match(response.headers.get('content-type'), /^application\/token-introspection\+jwt/, `${name}: the JWT media type`);
    const { payload, protectedHeader } = await jose.jwtVerify(response.text, jwks, { issuer, audience: 'rs' });
    t.equal(protectedHeader.alg, 'RS256', 'RS256 by default (RFC 9701 §6)');
    t.equal(protectedHeader.typ, 'token-introspection+jwt');
    const answer = payload['token_introspection'] as Record<string, unknown>;
    if (candidate === token) {
      t.equal(answer['active'], true);
      t.equal(answer['client_id'], 'orders-svc');
    } else {
      t.same(answer, { active: false }, 'inactive, and nothing else');
    }
  }
  const plain = await introspect(issuer, token, rs);
  t.equal(plain.json?.active, true, 'without the Accept header: plain JSON, as before');
});

t.test('concurrent revocations and introspections of one JWT: never a 5xx, inactive once any revocation answered', async (t) => {
  const token = await issue({ scope: 'orders:read', resource: ORDERS });
  const revocations = Array.from({ length: 8 }, () => postForm(`${issuer}/token/revocation`, { token }, { basic: ordersSvc }));
  const introspections = Array.from({ length: 8 }, () => introspect(issuer, token, rs));
  const answers = await Promise.all([...revocations, ...introspections]);
  t.same(answers.filter((a) => a.status >= 500).map((a) => a.status), [], 'no 5xx');
  t.ok(answers.slice(0, 8).every((a) => a.status === 200), 'every revocation answers 200');
  t.same((await introspect(issuer, token, rs)).json, { active: false });
});

// Last: these change the setup the other tests use.
t.test('removing the client, or changing the user\'s password, revokes their JWT access tokens', async (t) => {
  const doomed = await tokenRequest(issuer, { grant_type: 'client_credentials', scope: 'orders:read' }, { basic: ['doomed-svc', 'doomed-svc-secret-for-tests'] });
  const clientToken = doomed.json!.access_token as string;
  t.equal((await introspect(issuer, clientToken, rs)).json?.active, true);
  await latchkey.services.clients.remove('default', 'doomed-svc');
  t.same((await introspect(issuer, clientToken, rs)).json, { active: false }, 'the removed client\'s JWT');

  const { tokens } = await codeFlow(issuer, { scope: 'openid orders:read', parameters: { resource: ORDERS } });
  t.equal((await introspect(issuer, tokens.access_token, rs)).json?.active, true);
  await latchkey.services.accounts.setPassword('default', 'alice', 'a-new-password-for-alice');
  t.same((await introspect(issuer, tokens.access_token, rs)).json, { active: false }, 'the user\'s JWT after a password change');
});
