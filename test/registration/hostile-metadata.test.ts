import t from 'tap';
import { rawRequest } from '../helpers/raw-http.ts';
import { jsonRequest, startRegistration, WEB_CLIENT } from './registration-setup.ts';

// Hostile registration requests: each is refused with a 4xx in the
// engine's OAuth error shape (invalid_redirect_uri, invalid_client_metadata,
// invalid_request, 413), never a 5xx; the description names the field and
// the rule, never the value; nothing is stored and the initial access token
// keeps its use, so the token still registers a good client afterwards.
const server = await startRegistration(t);
const acme = server.issuerOf('acme');
const endpoint = `${acme}/reg`;

const web = (overrides: Record<string, unknown>) => ({ ...WEB_CLIENT, ...overrides });
const { token } = await server.issueToken('acme');
const clientsBefore = (await server.latchkey.services.clients.list('acme')).length;

const REFUSED: [name: string, body: Record<string, unknown>, error: string, description: RegExp][] = [
  ['javascript: redirect URI', web({ redirect_uris: ['javascript:alert(document.cookie)'] }), 'invalid_redirect_uri', /redirect_uris\[0\]: the javascript: scheme is not allowed/],
  ['data: redirect URI', web({ redirect_uris: ['data:text/html,<script>alert(1)</script>'] }), 'invalid_redirect_uri', /redirect_uris\[0\]/],
  ['fragment in a redirect URI', web({ redirect_uris: ['https://registered.test/cb#steal'] }), 'invalid_redirect_uri', /redirect_uris\[0\]: must not contain a fragment/],
  ['plain http to another host', web({ redirect_uris: ['http://evil.test/cb'] }), 'invalid_redirect_uri', /redirect_uris\[0\]: must use https/],
  ['wildcard', web({ redirect_uris: ['https://*.evil.test/cb'] }), 'invalid_redirect_uri', /redirect_uris\[0\]: must be exact/],
  ['user information', web({ redirect_uris: ['https://user:pass@registered.test/cb'] }), 'invalid_redirect_uri', /redirect_uris\[0\]: must not contain user information/],
  ['a string for a list', web({ redirect_uris: 'https://registered.test/cb' }), 'invalid_redirect_uri', /redirect_uris: must be a list/],
  ['a thousand redirect URIs', web({ redirect_uris: Array.from({ length: 1000 }, (_, i) => `https://r.test/${i}`) }), 'invalid_redirect_uri', /redirect_uris: must have at most 100 entries/],
  ['NUL in a redirect URI', web({ redirect_uris: ['https://registered.test/\u0000cb'] }), 'invalid_redirect_uri', /redirect_uris: must be valid Unicode text without NUL characters/],
  ['no redirect URI for the code flow', web({ redirect_uris: [] }), 'invalid_redirect_uri', /redirect_uris: at least one is required/],
  ['javascript: logo', web({ logo_uri: 'javascript:alert(1)' }), 'invalid_client_metadata', /logo_uri: /],
  ['data: policy', web({ policy_uri: 'data:text/html;base64,PHNjcmlwdD4=' }), 'invalid_client_metadata', /policy_uri: must be an https: URL/],
  ['http terms of service', web({ tos_uri: 'http://registered.test/tos' }), 'invalid_client_metadata', /tos_uri: must be an https: URL/],
  ['javascript: client_uri', web({ client_uri: 'javascript:void(0)' }), 'invalid_client_metadata', /client_uri: must be an https: URL/],
  ['jwks_uri where the realm does not take one', web({ jwks_uri: 'https://keys.test/jwks', token_endpoint_auth_method: 'private_key_jwt' }), 'invalid_client_metadata', /jwks_uri: not accepted at registration in this realm/],
  ['client_secret_jwt', web({ token_endpoint_auth_method: 'client_secret_jwt' }), 'invalid_client_metadata', /token_endpoint_auth_method: must be one of/],
  ['an unknown auth method', web({ token_endpoint_auth_method: 'trust_me' }), 'invalid_client_metadata', /token_endpoint_auth_method: must be one of/],
  ['tls_client_auth', web({ token_endpoint_auth_method: 'tls_client_auth' }), 'invalid_client_metadata', /token_endpoint_auth_method: must be one of/],
  ['client_credentials where the realm does not allow it', web({ grant_types: ['client_credentials'], redirect_uris: [], response_types: [] }), 'invalid_client_metadata', /grant_types: client_credentials is not open to registered clients in this realm/],
  ['the password grant', web({ grant_types: ['authorization_code', 'password'] }), 'invalid_client_metadata', /grant_types: password is not open/],
  ['the implicit grant', web({ grant_types: ['implicit'] }), 'invalid_client_metadata', /grant_types\[0\]: must be one of/],
  ['a token response type', web({ response_types: ['code id_token'] }), 'invalid_client_metadata', /response_types\[0\]: must be one of code/],
  ['the admin permission', web({ permissions: ['admin'], scope: 'admin:write' }), 'invalid_client_metadata', /permissions: set by an administrator only/],
  ['the introspection permission', web({ permissions: ['introspection'] }), 'invalid_client_metadata', /permissions: set by an administrator only/],
  ['its own roles', web({ roles: ['superuser'] }), 'invalid_client_metadata', /roles: set by an administrator only/],
  ['its own token lifetimes', web({ ttl: { access_token: 31_000_000 } }), 'invalid_client_metadata', /ttl: set by an administrator only/],
  ['an API audience', web({ default_resource: 'https://orders.test' }), 'invalid_client_metadata', /default_resource: set by an administrator only/],
  ['a scope the realm does not open', web({ scope: 'openid orders:read' }), 'invalid_client_metadata', /scope: a scope outside those open to registered clients/],
  ['an admin scope', web({ scope: 'openid admin:write' }), 'invalid_client_metadata', /scope: admin:write is issued only to clients with permissions \[admin\]/],
  ['a thousand contacts', web({ contacts: Array.from({ length: 1000 }, (_, i) => `a${i}@x.test`) }), 'invalid_client_metadata', /contacts: must have at most 20 entries/],
  ['control characters in the name', web({ client_name: 'Bank\u202eevil' }), 'invalid_client_metadata', /client_name: must not contain control or text-direction characters/],
  ['a lone surrogate in the name', web({ client_name: 'x\ud800' }), 'invalid_client_metadata', /client_name: must be valid Unicode text without NUL characters/],
  ['NUL in a key', web({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'a\u0000b' }] } }), 'invalid_client_metadata', /jwks: must be valid Unicode text/],
  ['a private key in jwks', web({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'secret' }] } }), 'invalid_client_metadata', /jwks\.keys\[0\]\.d: private key material/],
];

for (const [name, body, error, description] of REFUSED) {
  t.test(name, async (t) => {
    const answer = await server.register('acme', body, token);
    t.equal(answer.status, 400, `HTTP 400: ${answer.text.slice(0, 300)}`);
    t.equal(answer.json?.error, error);
    t.match(answer.json?.error_description, description);
    for (const value of Object.values(body).flat()) {
      if (typeof value === 'string' && value.includes(':') && !Object.values(WEB_CLIENT).flat().includes(value)) {
        t.notOk(answer.text.includes(value), 'the value is not quoted back');
      }
    }
  });
}

t.test('jwks_uri must be https where a realm takes one', async (t) => {
  const partners = await server.issueToken('partners');
  const answer = await server.register('partners', { grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://keys.test/jwks' }, partners.token);
  t.equal(answer.status, 400);
  t.equal(answer.json.error, 'invalid_client_metadata');
  t.match(answer.json.error_description, /jwks_uri: must be an https: URL/);
  const fine = await server.register('partners', { grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://keys.test/jwks' }, partners.token);
  t.equal(fine.status, 201, 'an https one registers');
  t.notOk('client_secret' in fine.json, 'and needs no secret');
});

/** A body sent as it is, even one no JSON client would send. */
const raw = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => fetch(endpoint, {
  method: 'POST', headers: { accept: 'application/json', authorization: `Bearer ${token}`, ...headers }, body,
});

t.test('bodies that are no client: not JSON, not an object, too deep', async (t) => {
  for (const [name, body] of [['malformed JSON', '{"redirect_uris": ['], ['an array', '[]'], ['a string', '"client"'], ['null', 'null']] as const) {
    const answer = await raw(body);
    t.equal(answer.status, 400, name);
    t.equal((await answer.json() as { error: string }).error, 'invalid_request', `${name}: invalid_request`);
  }
  const form = await raw('redirect_uris=https://registered.test/cb', { 'content-type': 'application/x-www-form-urlencoded' });
  t.equal(form.status, 400, 'a form body');

  const deep = await raw(`{"redirect_uris":${'['.repeat(20_000)}${']'.repeat(20_000)}}`);
  t.ok(deep.status === 400, `deeply nested JSON: ${deep.status}`);

});

t.test("what the server does not understand is ignored (RFC 7591 §2); the registrant names neither the id nor the secret", async (t) => {
  const answer = await server.register('acme', web({
    client_id: 'web1',
    client_secret: 'chosen-by-the-registrant',
    sector_identifier_uri: 'https://internal.test/sectors',
    backchannel_logout_uri: 'https://internal.test/logout',
    request_uris: ['https://internal.test/request'],
    software_statement: 'eyJhbGciOiJub25lIn0.e30.',
    __proto__: { admin: true },
    extra: { nested: true },
  }), token);
  t.equal(answer.status, 201, answer.text);
  t.not(answer.json.client_id, 'web1', 'the server picks the id');
  t.not(answer.json.client_secret, 'chosen-by-the-registrant', 'and the secret');
  for (const field of ['sector_identifier_uri', 'backchannel_logout_uri', 'request_uris', 'software_statement', 'admin', 'extra']) {
    t.notOk(field in answer.json, `${field} is not registered`);
  }
  const web1 = await server.latchkey.services.clients.find('default', 'web1');
  t.equal(web1?.metadata['client_name'], 'Web app web1', 'web1 is untouched');
});

t.test('every refusal left the token its use and stored nothing; it registered exactly one client', async (t) => {
  t.equal((await server.latchkey.services.clients.list('acme')).length, clientsBefore + 1);
  t.equal((await server.register('acme', WEB_CLIENT, token)).status, 401, 'its one use is spent now');
  const logged = server.logs.join('');
  t.notMatch(logged, /"level":50/, 'no error was logged');
});

t.test('no 5xx for a hostile request to the management endpoint either', async (t) => {
  for (const [method, path] of [['GET', '/reg/%00'], ['PUT', '/reg/x'], ['DELETE', `/reg/${'a'.repeat(5000)}`], ['PATCH', '/reg/x']] as const) {
    const answer = await jsonRequest(method, `${acme}${path}`, { token: 'nope', ...(method === 'PUT' ? { body: {} } : {}) });
    t.ok(answer.status >= 400 && answer.status < 500, `${method} ${path.slice(0, 20)}: ${answer.status}`);
  }
});

t.test('bodies over the limit: 413 before reading, or 400 once the limit is reached; never a 5xx', async (t) => {
  const { host, pathname } = new URL(endpoint);
  const head = (framing: string) => `POST ${pathname} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nAccept: application/json\r\nConnection: close\r\n${framing}\r\n`;
  const huge = JSON.stringify(web({ padding: 'p'.repeat(200_000) }));
  const declared = await rawRequest(acme, `${head(`Content-Length: ${huge.length}\r\n`)}${huge}`);
  t.equal(declared.status, 413, 'a declared length over the limit is refused before the body is read');
  t.equal(JSON.parse(declared.body).error, 'invalid_request');

  const chunk = `{"client_name":"${'c'.repeat(1024)}`;
  const chunks = Array.from({ length: 200 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('');
  const chunked = await rawRequest(acme, `${head('Transfer-Encoding: chunked\r\n')}${chunks}0\r\n\r\n`);
  t.ok(chunked.status === 400 || chunked.status === 413, `a chunked body over the limit: ${chunked.status}`);
});
