import * as jose from 'jose';
import t from 'tap';
import { OAuthRequestError, startLatchkey } from '../../src/library.ts';
import { introspect } from '../helpers/token-requests.ts';

// What a test gets besides the server (issue 14): tokens without a browser
// (client credentials; a user's code flow through the real pages), revocation,
// audit events, and a clock that ages one server's state.

const service = {
  client_id: 'svc', client_secret: 'svc-secret-for-the-helper-tests', token_endpoint_auth_method: 'client_secret_basic',
  grant_types: ['client_credentials'], response_types: [], redirect_uris: [], post_logout_redirect_uris: [], scope: 'api:read',
};
const web = {
  client_id: 'web', client_secret: 'web-secret-for-the-helper-tests', token_endpoint_auth_method: 'client_secret_post',
  grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: ['http://127.0.0.1:9/callback'],
  post_logout_redirect_uris: [], scope: 'openid profile email offline_access',
};
const spa = {
  client_id: 'spa', token_endpoint_auth_method: 'none', application_type: 'web',
  grant_types: ['authorization_code'], response_types: ['code'], redirect_uris: ['http://127.0.0.1:9/spa'], post_logout_redirect_uris: [], scope: 'openid profile',
};
const introspector = { ...service, client_id: 'rs', client_secret: 'rs-secret-for-the-helper-tests', scope: undefined, permissions: ['introspection'] };
const dana = { username: 'dana', password: 'dana-password-for-the-helper-tests', email: 'dana@example.test' };
const setup = {
  realms: [
    { name: 'default', clients: [service, web, spa, introspector], users: [dana, { username: 'off', password: 'off-password-for-the-helper-tests', disabled: true }] },
    { name: 'ifs', layout: 'keycloak', clients: [web], users: [dana] },
  ],
};
const RS = ['rs', 'rs-secret-for-the-helper-tests'] as const;

const idp = await startLatchkey({ setup });
t.teardown(() => idp.stop());

t.test('clientCredentials: the token the client gets; a wrong secret is refused with the OAuth error', async (t) => {
  const tokens = await idp.clientCredentials({ clientId: 'svc', scope: 'api:read' });
  t.equal(tokens.token_type, 'Bearer');
  t.equal(tokens.scope, 'api:read');
  t.equal((await introspect(idp.issuer, tokens.access_token, [...RS])).json?.['active'], true, 'it introspects as active');
  const refused = await idp.clientCredentials({ clientId: 'svc', clientSecret: 'not-the-secret' }).catch((error: unknown) => error);
  t.type(refused, OAuthRequestError);
  t.equal((refused as OAuthRequestError).code, 'invalid_client');
  t.equal((refused as OAuthRequestError).status, 401);
});

t.test('signIn: a user\'s code flow through the pages gives the client its tokens', async (t) => {
  const tokens = await idp.signIn({ username: 'dana', clientId: 'web', scope: 'openid email offline_access' });
  t.ok(tokens.refresh_token, 'a refresh token for offline_access');
  const jwks = jose.createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
  const { payload } = await jose.jwtVerify(tokens.id_token!, jwks, { issuer: idp.issuer, audience: 'web' });
  const dana = await idp.latchkey.services.accounts.findByUsername('default', 'dana');
  t.equal(payload.sub, dana!.id, 'an ID token for dana');
  const active = await introspect(idp.issuer, tokens.access_token, [...RS]);
  t.equal(active.json?.['sub'], dana!.id, 'an access token for dana');

  const publicClient = await idp.signIn({ username: 'dana', clientId: 'spa', scope: 'openid profile' });
  t.ok(publicClient.id_token, 'a public client (PKCE, no secret) too');
  const keycloak = await idp.signIn({ realm: 'ifs', username: 'dana', clientId: 'web' });
  t.match(keycloak.id_token, /^ey/, 'and in a realm of another layout (its own paths)');
});

t.test('signIn refused: a wrong password, a disabled user, an unknown client', async (t) => {
  const wrong = await idp.signIn({ username: 'dana', password: 'not-her-password', clientId: 'web' }).catch((error: unknown) => error);
  t.type(wrong, OAuthRequestError);
  t.match((wrong as Error).message, /Incorrect username or password/, 'the page\'s own message');
  const disabled = await idp.signIn({ username: 'off', clientId: 'web' }).catch((error: unknown) => error);
  t.type(disabled, OAuthRequestError, 'a disabled user cannot sign in');
  const unknown = await idp.signIn({ username: 'dana', clientId: 'nobody', redirectUri: 'http://127.0.0.1:9/callback' }).catch((error: unknown) => error);
  t.type(unknown, Error, 'an unknown client is refused');
});

t.test('revoke: the token is inactive at once', async (t) => {
  const tokens = await idp.clientCredentials({ clientId: 'svc' });
  await idp.revoke(tokens.access_token, { clientId: 'svc' });
  t.equal((await introspect(idp.issuer, tokens.access_token, [...RS])).json?.['active'], false);
});

t.test('auditEvents: what just happened, without waiting for the batch', async (t) => {
  await idp.clientCredentials({ clientId: 'svc' });
  const [latest] = await idp.auditEvents({ type: 'token.issued', clientId: 'svc', limit: 1 });
  t.equal(latest?.type, 'token.issued');
  t.equal(latest?.client_id, 'svc');
  const signIns = await idp.auditEvents({ type: 'sign_in', user: undefined });
  t.ok(signIns.some((event) => event.type === 'sign_in.succeeded'), 'the sign-ins of signIn');
});

t.test('clock.advance: tokens and refresh tokens of this server expire; another server is untouched', async (t) => {
  const other = await startLatchkey({ setup: { realms: [{ name: 'default', clients: [service, introspector] }] } });
  t.teardown(() => other.stop());
  const mine = await idp.clientCredentials({ clientId: 'svc' });
  const theirs = await other.clientCredentials({ clientId: 'svc' });
  const session = await idp.signIn({ username: 'dana', clientId: 'web', scope: 'openid offline_access' });

  const lifetime = mine.expires_in!;
  await idp.clock.advance(lifetime - 5);
  t.equal((await introspect(idp.issuer, mine.access_token, [...RS])).json?.['active'], true, 'still active just before its expiry');
  await idp.clock.advance(10);
  t.equal((await introspect(idp.issuer, mine.access_token, [...RS])).json?.['active'], false, `expired after its ${lifetime} s`);
  t.equal((await introspect(other.issuer, theirs.access_token, [...RS])).json?.['active'], true, 'the other server\'s token is not');

  await idp.clock.advance(14 * 24 * 3600);
  const refreshed = await fetch(`${idp.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: session.refresh_token!, client_id: 'web', client_secret: web.client_secret }),
  });
  t.equal(refreshed.status, 400, 'a refresh token past its lifetime is refused');
  t.equal(((await refreshed.json()) as Record<string, unknown>)['error'], 'invalid_grant');
  await t.rejects(idp.clock.advance(0), RangeError, 'only forward, in whole seconds');
});
