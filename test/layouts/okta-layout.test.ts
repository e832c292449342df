import OktaJwtVerifier from '@okta/jwt-verifier';
import * as jose from 'jose';
import t from 'tap';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { codeFlow } from '../helpers/relying-party.ts';
import { assertOAuthError, postForm } from '../helpers/token-requests.ts';
import { Browser } from '../helpers/browserless.ts';
import * as oidc from 'openid-client';
import { layoutsSetup, SECRETS, SERVICE_SECRET } from './layout-setups.ts';

// Issue 11: a realm in an Okta custom authorization server's layout (seed
// "webMethods + Okta": /oauth2/<authorizationServerId>/v1/introspect, /v1/revoke).
const { issuer: base } = await startLatchkey(t, { setup: layoutsSetup(), logLevel: 'silent' });
const issuer = `${base}/oauth2/default`;
const rs = ['rs', SECRETS.rs] as const;
// Okta's own verifier, which fetches ${issuer}/v1/keys; plain HTTP is allowed on loopback only by its testing switch.
const verifier = new OktaJwtVerifier({ issuer, testing: { disableHttpsCheck: true } });

t.test('metadata at both well-known paths and RFC 8414\'s inserted form, naming Okta\'s /v1 endpoints', async (t) => {
  for (const url of [
    `${issuer}/.well-known/openid-configuration`,
    `${issuer}/.well-known/oauth-authorization-server`,
    `${base}/.well-known/oauth-authorization-server/oauth2/default`,
  ]) {
    const response = await fetch(url);
    t.equal(response.status, 200, url);
    const metadata = await response.json() as Record<string, unknown>;
    t.match(metadata, {
      issuer,
      authorization_endpoint: `${issuer}/v1/authorize`,
      token_endpoint: `${issuer}/v1/token`,
      introspection_endpoint: `${issuer}/v1/introspect`,
      revocation_endpoint: `${issuer}/v1/revoke`,
      userinfo_endpoint: `${issuer}/v1/userinfo`,
      jwks_uri: `${issuer}/v1/keys`,
      end_session_endpoint: `${issuer}/v1/logout`,
    }, url);
  }
});

t.test('@okta/jwt-verifier accepts the access and ID tokens, which carry Okta\'s claims', async (t) => {
  const { tokens } = await codeFlow(issuer, { scope: 'openid profile email offline_access' });
  const jwt = await verifier.verifyAccessToken(tokens.access_token, 'api://default');
  const claims = jwt.claims as unknown as Record<string, unknown>;
  t.match(claims, { ver: 1, iss: issuer, aud: 'api://default', cid: 'web1', sub: 'alice', scp: ['openid', 'profile', 'email'] });
  t.type(claims['uid'], 'string');
  t.type(claims['jti'], 'string');
  t.equal(jose.decodeProtectedHeader(tokens.access_token).alg, 'RS256');
  t.ok(jose.decodeProtectedHeader(tokens.access_token).kid);

  const id = await verifier.verifyIdToken(tokens.id_token!, 'web1', jose.decodeJwt(tokens.id_token!)['nonce'] as string);
  t.match(id.claims, { ver: 1, aud: 'web1', iss: issuer, sub: claims['uid'] }, 'the ID token\'s sub is the user\'s id, as Okta\'s');

  // Okta's userinfo takes its access tokens.
  const userinfo = await fetch(`${issuer}/v1/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  t.equal(userinfo.status, 200);
  t.match(await userinfo.json(), { sub: claims['uid'], email: 'alice@example.test' });
});

t.test('@okta/jwt-verifier refuses a tampered, a foreign-audience and an expired token', async (t) => {
  const response = await postForm(`${issuer}/v1/token`, { grant_type: 'client_credentials', scope: 'roles' }, { basic: ['ifs-service', SERVICE_SECRET] });
  t.equal(response.status, 200, JSON.stringify(response.json));
  const token = response.json!['access_token'] as string;
  const claims = (await verifier.verifyAccessToken(token, 'api://default')).claims as unknown as Record<string, unknown>;
  t.match(claims, { ver: 1, cid: 'ifs-service', sub: 'ifs-service', scp: ['roles'], roles: ['integration'] });
  t.equal(claims['uid'], undefined, 'no user');

  const [header, payload, signature] = token.split('.');
  const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, scp: ['roles', 'admin'] })).toString('base64url')}.${signature}`;
  await t.rejects(verifier.verifyAccessToken(tampered, 'api://default'), /Signature verification failed/);
  await t.rejects(verifier.verifyAccessToken(token, 'api://other'), /audience/);
  void payload;
});

t.test('an expired access token is refused by @okta/jwt-verifier', async (t) => {
  // A realm where access tokens live 1 s.
  const short = layoutsSetup();
  short.realms = short.realms.filter((realm) => realm.name === 'default').map((realm) => ({ ...realm, ttl: { ...realm.ttl, client_credentials: 1 } }));
  const { issuer: shortBase } = await startLatchkey(t, { setup: short, logLevel: 'silent' });
  const shortIssuer = `${shortBase}/oauth2/default`;
  const response = await postForm(`${shortIssuer}/v1/token`, { grant_type: 'client_credentials' }, { basic: ['ifs-service', SERVICE_SECRET] });
  const token = response.json!['access_token'] as string;
  const shortVerifier = new OktaJwtVerifier({ issuer: shortIssuer, testing: { disableHttpsCheck: true } });
  await new Promise((resolve) => setTimeout(resolve, 2100));
  await t.rejects(shortVerifier.verifyAccessToken(token, 'api://default'), /expired/);
});

t.test('the webMethods sequence: code exchange with Basic, introspection by the resource server, revocation, then inactive', async (t) => {
  // The redirection endpoint service posts the code with Basic credentials.
  const is = ['integration-server', SERVICE_SECRET] as const;
  const config = await oidc.discovery(new URL(issuer), is[0], { client_secret: is[1] }, oidc.ClientSecretBasic(is[1]), { execute: [oidc.allowInsecureRequests] });
  const verifierValue = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: 'https://is.test/invoke/oauth/callback', scope: 'openid groups', state: oidc.randomState(),
    code_challenge: await oidc.calculatePKCECodeChallenge(verifierValue), code_challenge_method: 'S256',
  });
  const callback = await new Browser(base).authorize(url.href, { login: 'alice', password: SECRETS.alice });
  const exchanged = await postForm(`${issuer}/v1/token`, {
    grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: 'https://is.test/invoke/oauth/callback', code_verifier: verifierValue,
  }, { basic: is });
  t.equal(exchanged.status, 200, JSON.stringify(exchanged.json));
  const accessToken = exchanged.json!['access_token'] as string;
  t.match(jose.decodeJwt(accessToken), { groups: ['Order Desk'] }, 'groups when asked');

  // Integration Server introspects the bearer token with its own client.
  const active = await postForm(`${issuer}/v1/introspect`, { token: accessToken, token_type_hint: 'access_token' }, { basic: rs });
  t.equal(active.status, 200);
  t.match(active.json, { active: true, client_id: 'integration-server', sub: 'alice', token_type: 'Bearer', aud: 'api://default', iss: issuer, scope: 'openid groups' });
  t.type(active.json!['uid'], 'string');

  // "An authorization server's revocation endpoint accepts HTTP basic authentication."
  const revoked = await postForm(`${issuer}/v1/revoke`, { token: accessToken, token_type_hint: 'access_token' }, { basic: is });
  t.equal(revoked.status, 200);
  t.same((await postForm(`${issuer}/v1/introspect`, { token: accessToken }, { basic: rs })).json, { active: false });

  // The guide's header as printed ("Bearer <base64encoded-credentials>") is not client authentication: a malformed request.
  const misprinted = await postForm(`${issuer}/v1/revoke`, { token: accessToken }, { authorization: `Bearer ${Buffer.from(`${is[0]}:${is[1]}`).toString('base64')}` });
  assertOAuthError(t, misprinted, 400, 'invalid_request');
});

t.test('okta-auth-js\'s Basic base64(client_id) names a public client at revocation and introspection, and nothing more', async (t) => {
  const { tokens } = await codeFlow(issuer, { clientId: 'spa1', secret: null, redirectUri: 'https://spa.test/cb', scope: 'openid' });
  const clientIdOnly = (id: string) => ({ authorization: `Basic ${Buffer.from(id).toString('base64')}` });
  // A confidential client is not authenticated by its name alone.
  const asWeb1 = await postForm(`${issuer}/v1/revoke`, { token: tokens.access_token }, clientIdOnly('web1'));
  assertOAuthError(t, asWeb1, 401, 'invalid_client');
  // Another public client's name revokes nothing of spa1's (RFC 7009: a public client's foreign token is ignored).
  t.equal((await postForm(`${issuer}/v1/introspect`, { token: tokens.access_token }, { basic: rs })).json!['active'], true);
  // The form's client_id must agree with it.
  assertOAuthError(t, await postForm(`${issuer}/v1/revoke`, { token: tokens.access_token, client_id: 'native1' }, clientIdOnly('spa1')), 400, 'invalid_request');
  const revoked = await postForm(`${issuer}/v1/revoke`, { token: tokens.access_token }, clientIdOnly('spa1'));
  t.equal(revoked.status, 200);
  t.same((await postForm(`${issuer}/v1/introspect`, { token: tokens.access_token }, { basic: rs })).json, { active: false });
  // Elsewhere (the token endpoint) it is still a malformed header.
  assertOAuthError(t, await postForm(`${issuer}/v1/token`, { grant_type: 'client_credentials' }, clientIdOnly('spa1')), 400, 'invalid_request');
});
