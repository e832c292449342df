import * as jose from 'jose';
import t from 'tap';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { codeFlow } from '../helpers/relying-party.ts';
import { postForm } from '../helpers/token-requests.ts';
import { demoSetupDocument, parseSetup, SECRETS } from '../helpers/setups.ts';

// Issue 11: one realm (one set of clients and users) under two layouts, each its own issuer.
const document = demoSetupDocument();
const realm = document.realms[0]!;
realm.name = 'acme';
realm['layout'] = 'keycloak';
realm['aliases'] = [{ type: 'okta', authorization_server: 'default' }];
const { issuer: base } = await startLatchkey(t, { setup: parseSetup(document), logLevel: 'silent' });
const keycloak = `${base}/realms/acme`;
const okta = `${base}/oauth2/default`;
const rs = ['rs', SECRETS.rs] as const;

t.test('each issuer signs its own tokens for the same user and client', async (t) => {
  const viaKeycloak = await codeFlow(keycloak, { scope: 'openid' });
  const viaOkta = await codeFlow(okta, { scope: 'openid' });
  const kcClaims = (await jose.jwtVerify(viaKeycloak.tokens.access_token, jose.createRemoteJWKSet(new URL(`${keycloak}/protocol/openid-connect/certs`)), { issuer: keycloak })).payload;
  const oktaClaims = (await jose.jwtVerify(viaOkta.tokens.access_token, jose.createRemoteJWKSet(new URL(`${okta}/v1/keys`)), { issuer: okta })).payload;
  t.equal(kcClaims['typ'], 'Bearer');
  t.equal(oktaClaims['ver'], 1);
  t.equal(oktaClaims['uid'], kcClaims.sub, 'one user behind both');

  // A JWT is good at the issuer that signed it, not at the other.
  const at = (issuer: string, path: string, token: string) => postForm(`${issuer}${path}`, { token }, { basic: rs });
  t.equal((await at(keycloak, '/protocol/openid-connect/token/introspect', viaKeycloak.tokens.access_token)).json!['active'], true);
  t.same((await at(okta, '/v1/introspect', viaKeycloak.tokens.access_token)).json, { active: false });
  t.same((await at(keycloak, '/protocol/openid-connect/token/introspect', viaOkta.tokens.access_token)).json, { active: false });
  // So is Keycloak's refresh token: its JWT form is bound to its issuer.
  const refreshAtOkta = await postForm(`${okta}/v1/token`, { grant_type: 'refresh_token', refresh_token: viaKeycloak.tokens.refresh_token! }, { basic: ['web1', SECRETS.web1] });
  t.equal(refreshAtOkta.json!['error'], 'invalid_grant');
});

t.test('an alias whose paths overlap another issuer\'s is refused at start', async (t) => {
  const clash = demoSetupDocument();
  clash.realms[0]!['layout'] = 'okta';
  clash.realms.push({ name: 'other', layout: { type: 'okta', authorization_server: 'default' } });
  t.throws(() => parseSetup(clash), /realms\[1\]\.layout.*overlap realm default/);
  const self = demoSetupDocument();
  self.realms[0]!['layout'] = 'okta';
  self.realms[0]!['aliases'] = ['okta'];
  t.throws(() => parseSetup(self), /aliases\[0\].*overlap/);
});
