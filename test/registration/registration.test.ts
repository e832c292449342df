import t from 'tap';
import * as oidc from 'openid-client';
import { codeFlow } from '../helpers/relying-party.ts';
import { postForm } from '../helpers/token-requests.ts';
import { jsonRequest, startRegistration, WEB_CLIENT } from './registration-setup.ts';

// Dynamic client registration (RFC 7591): off unless a realm enables it;
// an initial access token from the admin API is required, and it is
// single-use unless counted, expires and can be revoked; a registered
// client is an ordinary client (a real code flow, client credentials, the
// admin API lists and deletes it).
const server = await startRegistration(t);
const acme = server.issuerOf('acme');

const discoveryOf = async (issuer: string) => (await fetch(`${issuer}/.well-known/openid-configuration`)).json() as Promise<Record<string, any>>;

t.test('off by default: no endpoint, nothing in discovery', async (t) => {
  const issuer = server.issuerOf('default');
  t.notOk('registration_endpoint' in await discoveryOf(issuer), 'default realm: no registration_endpoint');
  const answer = await jsonRequest('POST', `${issuer}/reg`, { body: WEB_CLIENT, token: 'anything' });
  t.equal(answer.status, 404, 'the engine path is not served');
  t.equal(answer.json?.error, 'invalid_request');
  const issued = await server.call('POST', '/v1/realms/default/initial-access-tokens', { token: server.tokens.full, body: {} });
  t.equal(issued.status, 409, 'no initial access token for a realm without registration');
  t.equal(issued.json.code, 'registration_disabled');
});

t.test('enabled: advertised where the layout puts it', async (t) => {
  t.equal((await discoveryOf(acme))['registration_endpoint'], `${acme}/reg`);
  const kc = server.issuerOf('kc');
  t.equal((await discoveryOf(kc))['registration_endpoint'], `${kc}/clients-registrations/openid-connect`, "Keycloak's path in the Keycloak layout");
});

t.test('without, with an unknown, an expired, a used-up or a revoked initial access token: 401 invalid_token, nothing registered', async (t) => {
  const before = (await server.latchkey.services.clients.list('acme')).length;
  const none = await server.register('acme', WEB_CLIENT, undefined);
  t.equal(none.status, 401, 'none');
  t.equal(none.json.error, 'invalid_token');
  t.match(none.headers.get('www-authenticate'), /^Bearer /, 'a Bearer challenge');
  t.equal((await server.register('acme', WEB_CLIENT, 'not-a-token')).status, 401, 'unknown');

  const expired = await server.issueToken('acme');
  await server.latchkey.services.database.db.updateTable('initial_access_tokens')
    .set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', expired.id).execute();
  t.equal((await server.register('acme', WEB_CLIENT, expired.token)).status, 401, 'expired');

  const single = await server.issueToken('acme');
  t.equal((await server.register('acme', WEB_CLIENT, single.token)).status, 201, 'a single-use token registers one client');
  const usedUp = await server.register('acme', WEB_CLIENT, single.token);
  t.equal(usedUp.status, 401, 'and no second');
  t.equal(usedUp.json.error, 'invalid_token');

  const revoked = await server.issueToken('acme', { uses: 5 });
  t.equal((await server.call('DELETE', `/v1/realms/acme/initial-access-tokens/${revoked.id}`, { token: server.tokens.full })).status, 204);
  t.equal((await server.register('acme', WEB_CLIENT, revoked.token)).status, 401, 'revoked');

  const other = await server.issueToken('partners');
  t.equal((await server.register('acme', WEB_CLIENT, other.token)).status, 401, "another realm's token");
  t.equal((await server.latchkey.services.clients.list('acme')).length, before + 1, 'only the one good registration stored a client');
});

t.test('a counted token registers as many clients as its count', async (t) => {
  const counted = await server.issueToken('acme', { uses: 3 });
  for (let i = 0; i < 3; i += 1) t.equal((await server.register('acme', WEB_CLIENT, counted.token)).status, 201, `registration ${i + 1}`);
  t.equal((await server.register('acme', WEB_CLIENT, counted.token)).status, 401, 'the fourth is refused');
  const listed = await server.call('GET', '/v1/realms/acme/initial-access-tokens', { token: server.tokens.readOnly });
  t.match(listed.json.items.find((item: { id: string }) => item.id === counted.id), { uses_allowed: 3, uses_left: 0 });
});

t.test("openid-client's dynamicClientRegistration, then a real code flow with the registered client", async (t) => {
  const { token } = await server.issueToken('acme');
  const config = await oidc.dynamicClientRegistration(new URL(acme), {
    client_name: 'Registered through openid-client',
    redirect_uris: ['https://rp.test/cb'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  }, undefined, { initialAccessToken: token, execute: [oidc.allowInsecureRequests] });
  const metadata = config.clientMetadata();
  t.match(metadata.client_secret, /^[A-Za-z0-9_-]{43}$/, 'a generated secret, shown in the registration response');
  t.equal(metadata.token_endpoint_auth_method, 'client_secret_basic');
  t.equal(metadata['scope'], 'openid profile email offline_access', "the realm's registration scopes, as the client named none");

  const { tokens } = await codeFlow(acme, { clientId: metadata.client_id, secret: String(metadata.client_secret), redirectUri: 'https://rp.test/cb', scope: 'openid profile' });
  t.ok(tokens.access_token, 'an access token');
  t.equal(tokens.claims()!.aud, metadata.client_id, 'an ID token for the registered client');

  const listed = await server.call('GET', `/v1/realms/acme/clients/${encodeURIComponent(metadata.client_id)}`, { token: server.tokens.readOnly });
  t.equal(listed.status, 200, 'the admin API shows it');
  t.equal(listed.json.secret_storage, 'hmac-sha256', 'its secret stored as a generated one is');
  t.equal(listed.json.client_name, 'Registered through openid-client');

  t.equal((await server.call('DELETE', `/v1/realms/acme/clients/${encodeURIComponent(metadata.client_id)}`, { token: server.tokens.full })).status, 204, 'and deletes it');
  const after = await postForm(`${acme}/token`, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, { basic: [metadata.client_id, String(metadata.client_secret)] });
  // Its grants went with it at once; the client itself within the client cache's 5 s.
  t.match(after.json, { error: /^invalid_(grant|client)$/ }, 'after which its refresh token is dead');
});

t.test('client credentials where the realm allows them; a public client registers without a secret', async (t) => {
  const { token } = await server.issueToken('partners');
  const registered = await server.register('partners', { grant_types: ['client_credentials'], scope: 'orders:read', client_name: 'Partner service' }, token);
  t.equal(registered.status, 201, registered.text);
  const { client_id: clientId, client_secret: secret } = registered.json;
  t.equal(registered.json.response_types.length, 0, 'no response types without the code flow');
  const issued = await postForm(`${server.issuerOf('partners')}/token`, { grant_type: 'client_credentials', scope: 'orders:read' }, { basic: [clientId, secret] });
  t.equal(issued.status, 200, issued.text);
  t.equal(issued.json!['scope'], 'orders:read');

  const pub = await server.issueToken('acme');
  const native = await server.register('acme', { application_type: 'native', redirect_uris: ['com.example.app:/cb'], token_endpoint_auth_method: 'none' }, pub.token);
  t.equal(native.status, 201, native.text);
  t.notOk('client_secret' in native.json, 'no secret for a public client');
});

t.test("Keycloak's registration path registers in the Keycloak layout", async (t) => {
  const { token } = await server.issueToken('kc');
  const kc = server.issuerOf('kc');
  const registered = await jsonRequest('POST', `${kc}/clients-registrations/openid-connect`, { body: WEB_CLIENT, token });
  t.equal(registered.status, 201, registered.text);
  t.equal(registered.json.registration_client_uri, `${kc}/clients-registrations/openid-connect/${registered.json.client_id}`);
  const read = await jsonRequest('GET', registered.json.registration_client_uri, { token: registered.json.registration_access_token });
  t.equal(read.status, 200);
});
