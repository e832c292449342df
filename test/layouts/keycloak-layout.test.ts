import * as jose from 'jose';
import * as oidc from 'openid-client';
import t from 'tap';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { codeFlow } from '../helpers/relying-party.ts';
import { assertOAuthError, postForm, type ClientCredentials } from '../helpers/token-requests.ts';
import { layoutsSetup, SECRETS, SERVICE_SECRET } from './layout-setups.ts';

// Issue 11: a realm in Keycloak's layout, as IFS Cloud serves it
// (seed "IFS Cloud": /auth/realms/<namespace>/protocol/openid-connect/token,
// 180 s access tokens, 1800 s refresh tokens).
const { issuer: base } = await startLatchkey(t, { setup: layoutsSetup(), logLevel: 'silent' });
const issuer = `${base}/auth/realms/ifs`;
const oidcPath = `${issuer}/protocol/openid-connect`;
const web1 = ['web1', SECRETS.web1] as const;
const rs = ['rs', SECRETS.rs] as const;
const jwks = jose.createRemoteJWKSet(new URL(`${oidcPath}/certs`));

const claimsOf = (jwt: string) => jose.decodeJwt(jwt) as Record<string, any>;
const introspectAt = (token: string, asClient: ClientCredentials = rs) => postForm(`${oidcPath}/token/introspect`, { token }, { basic: asClient });

t.test('discovery names Keycloak\'s endpoints under the realm\'s issuer, with and without the /auth prefix', async (t) => {
  for (const [at, prefix] of [[issuer, '/auth/realms/ifs'], [`${base}/realms/kc`, '/realms/kc']] as const) {
    const response = await fetch(`${at}/.well-known/openid-configuration`);
    t.equal(response.status, 200);
    const metadata = await response.json() as Record<string, unknown>;
    const under = `${base}${prefix}/protocol/openid-connect`;
    t.same({
      issuer: metadata['issuer'],
      authorization_endpoint: metadata['authorization_endpoint'],
      token_endpoint: metadata['token_endpoint'],
      introspection_endpoint: metadata['introspection_endpoint'],
      revocation_endpoint: metadata['revocation_endpoint'],
      userinfo_endpoint: metadata['userinfo_endpoint'],
      jwks_uri: metadata['jwks_uri'],
      end_session_endpoint: metadata['end_session_endpoint'],
    }, {
      issuer: `${base}${prefix}`,
      authorization_endpoint: `${under}/auth`,
      token_endpoint: `${under}/token`,
      introspection_endpoint: `${under}/token/introspect`,
      revocation_endpoint: `${under}/revoke`,
      userinfo_endpoint: `${under}/userinfo`,
      jwks_uri: `${under}/certs`,
      end_session_endpoint: `${under}/logout`,
    }, prefix);
  }
  // Latchkey's own paths are not served under a Keycloak realm.
  t.equal((await fetch(`${issuer}/token`, { method: 'POST' })).status, 404);
  t.equal((await fetch(`${base}/realms/ifs/.well-known/openid-configuration`)).status, 404, 'the prefix is part of the path');
});

t.test('the IFS Cloud guide, step by step: the token request, its 180/1800 s answer, the refresh with form credentials', async (t) => {
  // "POST https://<SYSTEM_URL>/auth/realms/<NAMESPACE>/protocol/openid-connect/token", credentials in the form.
  const first = await postForm(`${oidcPath}/token`, {
    grant_type: 'password', client_id: 'ifs-script', client_secret: SERVICE_SECRET,
    username: 'alice', password: SECRETS.alice, scope: 'openid profile email',
  });
  t.equal(first.status, 200, JSON.stringify(first.json));
  const tokens = first.json!;
  t.equal(tokens['token_type'], 'Bearer');
  t.equal(tokens['expires_in'], 180);
  t.ok(tokens['refresh_expires_in'] >= 1799 && tokens['refresh_expires_in'] <= 1800, `refresh_expires_in ${tokens['refresh_expires_in']}`);
  t.equal(tokens['not-before-policy'], 0);
  t.match(tokens['scope'], /openid/);
  t.type(tokens['id_token'], 'string');
  t.same(Object.keys(tokens).sort(), ['access_token', 'expires_in', 'id_token', 'not-before-policy', 'refresh_expires_in', 'refresh_token', 'scope', 'token_type'].concat(tokens['session_state'] ? ['session_state'] : []).sort());

  // "grant_type: refresh_token", client_id and client_secret in the form again.
  const refreshed = await postForm(`${oidcPath}/token`, {
    grant_type: 'refresh_token', refresh_token: tokens['refresh_token'], client_id: 'ifs-script', client_secret: SERVICE_SECRET,
  });
  t.equal(refreshed.status, 200, JSON.stringify(refreshed.json));
  t.equal(refreshed.json!['expires_in'], 180);
  t.not(refreshed.json!['refresh_token'], tokens['refresh_token'], 'a new refresh token each time, as the guide says');
  // "the old refresh token should be disposed of": it no longer works, and its reuse ends the grant.
  const replay = await postForm(`${oidcPath}/token`, {
    grant_type: 'refresh_token', refresh_token: tokens['refresh_token'], client_id: 'ifs-script', client_secret: SERVICE_SECRET,
  });
  assertOAuthError(t, replay, 400, 'invalid_grant');
});

t.test('access and ID tokens carry Keycloak\'s claims and verify against the certs endpoint', async (t) => {
  const { tokens } = await codeFlow(issuer, { scope: 'openid profile email' });
  const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, { issuer, audience: 'account' });
  t.equal(protectedHeader.alg, 'RS256');
  t.ok(protectedHeader.kid);
  t.match(payload, {
    typ: 'Bearer', azp: 'web1', preferred_username: 'alice', email: 'alice@example.test', given_name: 'Alice',
    realm_access: { roles: ['ifs-admin'] }, resource_access: { 'orders-api': { roles: ['reader'] } },
    scope: 'openid profile email',
  });
  t.type(payload['sid'], 'string');
  t.equal(payload['session_state'], payload['sid']);
  t.equal(payload.exp! - payload.iat!, 180);

  const id = (await jose.jwtVerify(tokens.id_token!, jwks, { issuer, audience: 'web1' })).payload;
  t.match(id, { typ: 'ID', azp: 'web1', preferred_username: 'alice' });
  t.equal(id['session_state'], payload['sid']);
  t.equal(tokens['session_state'], payload['sid'], 'the token response names the session');

  // Usable at userinfo, as Keycloak's are.
  const userinfo = await fetch(`${oidcPath}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  t.equal(userinfo.status, 200);
  t.match(await userinfo.json(), { sub: payload.sub, preferred_username: 'alice', email: 'alice@example.test' });
});

t.test('client credentials: a service-account token with the client\'s roles as realm roles', async (t) => {
  const response = await postForm(`${oidcPath}/token`, { grant_type: 'client_credentials' }, { basic: ['ifs-service', SERVICE_SECRET] });
  t.equal(response.status, 200, JSON.stringify(response.json));
  t.equal(response.json!['refresh_expires_in'], 0);
  t.equal(response.json!['not-before-policy'], 0);
  const { payload } = await jose.jwtVerify(response.json!['access_token'], jwks, { issuer, audience: 'account' });
  t.match(payload, { typ: 'Bearer', azp: 'ifs-service', preferred_username: 'service-account-ifs-service', realm_access: { roles: ['integration'] } });
});

t.test('refresh tokens are JWT-shaped (keycloak-js decodes them) and good for nothing else', async (t) => {
  const { tokens } = await codeFlow(issuer, { scope: 'openid offline_access' });
  const refreshToken = tokens.refresh_token!;
  const claims = claimsOf(refreshToken);
  t.match(claims, { typ: 'Refresh', iss: issuer, azp: 'web1' });
  t.equal(jose.decodeProtectedHeader(refreshToken).alg, 'HS256');
  await t.rejects(jose.jwtVerify(refreshToken, jwks), 'no published key verifies it');

  // Not an access token: not at userinfo, not active as one at introspection.
  const userinfo = await fetch(`${oidcPath}/userinfo`, { headers: { authorization: `Bearer ${refreshToken}` } });
  t.equal(userinfo.status, 401);
  const introspected = await introspectAt(refreshToken, web1);
  t.equal(introspected.json!['active'], true, 'its own client may introspect its refresh token');
  t.equal(introspected.json!['token_type'], undefined, 'as a refresh token');
  // The opaque token inside is not a refresh token here.
  const bare = await postForm(`${oidcPath}/token`, { grant_type: 'refresh_token', refresh_token: String(claims['jti']) }, { basic: web1 });
  assertOAuthError(t, bare, 400, 'invalid_grant');
  // A forged one (its claims changed, its MAC kept) is nothing.
  const [header, , mac] = refreshToken.split('.');
  const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, azp: 'web2' })).toString('base64url')}.${mac}`;
  assertOAuthError(t, await postForm(`${oidcPath}/token`, { grant_type: 'refresh_token', refresh_token: forged }, { basic: web1 }), 400, 'invalid_grant');
  // Another realm's is nothing here, though both are Keycloak-shaped.
  const other = await codeFlow(`${base}/realms/kc`, { scope: 'openid offline_access' });
  assertOAuthError(t, await postForm(`${oidcPath}/token`, { grant_type: 'refresh_token', refresh_token: other.tokens.refresh_token! }, { basic: web1 }), 400, 'invalid_grant');

  // Revocation takes it in its JWT form, and then it refreshes nothing.
  const revoked = await postForm(`${oidcPath}/revoke`, { token: refreshToken, token_type_hint: 'refresh_token' }, { basic: web1 });
  t.equal(revoked.status, 200);
  assertOAuthError(t, await postForm(`${oidcPath}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken }, { basic: web1 }), 400, 'invalid_grant');
});

t.test('introspection and revocation at Keycloak\'s paths', async (t) => {
  const { tokens } = await codeFlow(issuer, { scope: 'openid profile' });
  const active = await introspectAt(tokens.access_token);
  t.match(active.json, { active: true, client_id: 'web1', typ: 'Bearer', azp: 'web1', preferred_username: 'alice', aud: 'account', iss: issuer });
  t.equal((await postForm(`${oidcPath}/revoke`, { token: tokens.access_token }, { basic: web1 })).status, 200);
  t.same((await introspectAt(tokens.access_token)).json, { active: false });
});

t.test('CORS with credentials for a public client\'s own origin, and for no other', async (t) => {
  const request = async (origin: string) => {
    const config = await oidc.discovery(new URL(issuer), 'spa1', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    void config;
    return fetch(`${oidcPath}/token`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x.y.z', client_id: 'spa1' }),
    });
  };
  const own = await request('https://spa.test');
  t.equal(own.headers.get('access-control-allow-origin'), 'https://spa.test');
  t.equal(own.headers.get('access-control-allow-credentials'), 'true');
  const foreign = await request('https://evil.test');
  t.not(foreign.headers.get('access-control-allow-origin'), 'https://evil.test');
  t.equal(foreign.headers.get('access-control-allow-credentials'), null);
  const confidential = await fetch(`${oidcPath}/token`, {
    method: 'POST',
    headers: { origin: 'https://app.test', 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`web1:${SECRETS.web1}`).toString('base64')}` },
    body: 'grant_type=client_credentials',
  });
  t.equal(confidential.headers.get('access-control-allow-credentials'), null, 'never for a confidential client');
});

t.test('logout takes what keycloak-js sends', async (t) => {
  const { tokens, browser } = await codeFlow(issuer, { scope: 'openid' });
  const url = new URL(`${oidcPath}/logout`);
  url.search = new URLSearchParams({ client_id: 'web1', post_logout_redirect_uri: 'https://app.test/bye', id_token_hint: tokens.id_token! }).toString();
  const page = await browser.request(url.href);
  t.equal(page.status, 200, 'the confirmation page');
  const html = await page.text();
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
  t.ok(xsrf);
  const confirmed = await browser.request(`${oidcPath}/logout/confirm`, { method: 'POST', form: { xsrf: xsrf!, logout: 'yes' }, redirect: 'manual' });
  t.equal(confirmed.status, 303);
  t.match(confirmed.headers.get('location'), /^https:\/\/app\.test\/bye/);
});

t.test('the same JWT refresh token sent six times at once: at most one answer, and the replay ends the grant', async (t) => {
  const { tokens } = await codeFlow(issuer, { scope: 'openid offline_access' });
  const answers = await Promise.all(Array.from({ length: 6 }, () =>
    postForm(`${oidcPath}/token`, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, { basic: web1 })));
  const won = answers.filter((answer) => answer.status === 200);
  t.ok(won.length <= 1, `${won.length} answered with tokens`);
  for (const lost of answers.filter((answer) => answer.status !== 200)) assertOAuthError(t, lost, 400, 'invalid_grant');
  // Whatever the winner got died with the grant its concurrent replays revoked.
  for (const answer of won) {
    t.same((await introspectAt(answer.json!['access_token'])).json, { active: false });
    assertOAuthError(t, await postForm(`${oidcPath}/token`, { grant_type: 'refresh_token', refresh_token: answer.json!['refresh_token'] }, { basic: web1 }), 400, 'invalid_grant');
  }
  t.same((await introspectAt(tokens.access_token)).json, { active: false }, 'the first access token too');
});
