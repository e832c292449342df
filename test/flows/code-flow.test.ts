import t from 'tap';
import * as oidc from 'openid-client';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { codeFlow, discover } from '../helpers/relying-party.ts';
import { SECRETS } from '../helpers/setups.ts';

const server = await startLatchkey(t);
const { issuer } = server;

t.test('discovery: OIDC and RFC 8414 metadata agree and advertise only what we support', async (t) => {
  const oidcMeta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json() as Record<string, any>;
  const rfc8414 = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json() as Record<string, any>;
  t.equal(oidcMeta.issuer, issuer);
  t.same(rfc8414, oidcMeta);
  t.same(oidcMeta.response_types_supported, ['code']);
  t.same(oidcMeta.code_challenge_methods_supported, ['S256']);
  t.ok(oidcMeta.introspection_endpoint && oidcMeta.revocation_endpoint && oidcMeta.end_session_endpoint);
  t.notOk(oidcMeta.token_endpoint_auth_methods_supported.includes('client_secret_jwt'));
  t.equal(oidcMeta.authorization_response_iss_parameter_supported, true);
});

t.test('authorization code + PKCE → tokens, userinfo, refresh rotation', async (t) => {
  const { tokens, config } = await codeFlow(issuer);
  t.ok(tokens.access_token);
  t.ok(tokens.refresh_token, 'refresh token issued');
  const claims = tokens.claims()!;
  t.equal(claims.iss, issuer);
  t.notOk(claims.email, 'scope claims go to userinfo, not the ID token (OIDC Core §5.4)');

  const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  t.equal(userinfo.preferred_username, 'alice');
  t.equal(userinfo.name, 'Alice Example');
  t.equal(userinfo.email, 'alice@example.test');

  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  t.ok(refreshed.access_token);
  t.not(refreshed.refresh_token, tokens.refresh_token, 'refresh token rotated');
  t.equal(refreshed.claims()!.sub, claims.sub);
});

t.test('refresh token issued without offline_access (IFS behaviour)', async (t) => {
  const { tokens } = await codeFlow(issuer, { scope: 'openid profile' });
  t.ok(tokens.refresh_token);
});

t.test('client credentials', async (t) => {
  const config = await discover(issuer, 'svc', SECRETS.svc);
  const tokens = await oidc.clientCredentialsGrant(config, { scope: 'api:read' });
  t.ok(tokens.access_token);
  t.equal(tokens.scope, 'api:read');
  t.equal(tokens.token_type.toLowerCase(), 'bearer');
});
