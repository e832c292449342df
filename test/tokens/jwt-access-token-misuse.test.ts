import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import t from 'tap';
import { assembleLatchkey } from '../../src/latchkey.ts';
import { createLogger } from '../../src/log/logger.ts';
import { runLatchkey } from '../cli/cli-sandbox.ts';
import type { Browser } from '../helpers/browserless.ts';
import { emptyImage } from '../helpers/embedded-images.ts';
import { freePort, migrate, startLatchkey, testConfig } from '../helpers/latchkey-under-test.ts';
import { codeFlow } from '../helpers/relying-party.ts';
import { demoSetupDocument, parseSetup, SECRETS, type SetupDocument } from '../helpers/setups.ts';
import { createTestDatabase } from '../helpers/test-database.ts';
import {
  assertOAuthError, introspect, refreshRequest, revoke, tokenRequest, type ClientCredentials, type OAuthResponse,
} from '../helpers/token-requests.ts';
import { until, waitFor } from '../helpers/waiting.ts';

// Issue 10, the misuse cases: a JWT access token (RFC 9068) offered where
// another kind of token belongs (refresh token, ID token hint), introspected
// by a client that may not see it or with a misleading hint, and carried
// across a staged key rotation. The happy paths are in jwt-access-tokens.test.ts.

const ORDERS = 'https://orders.example.com';
const OPAQUE = 'https://opaque.example.com';
// A web app whose client_id is also the identifier of its own API (as with
// Entra ID's api://<client-id>): its access tokens carry its client_id as
// `aud`, signed RS256 like its ID tokens.
const BFF = 'https://bff.example.com';
const INACTIVE = '{"active":false}';

const ORDERS_SVC: ClientCredentials = ['orders-svc', 'orders-svc-secret-for-tests'];
const BFF_CLIENT: ClientCredentials = [BFF, 'bff-secret-for-tests-only'];
const WEB1: ClientCredentials = ['web1', SECRETS.web1];
const WEB2: ClientCredentials = ['web2', SECRETS.web2];
const SVC: ClientCredentials = ['svc', SECRETS.svc];
const RS: ClientCredentials = ['rs', SECRETS.rs];

function misuseSetup(): SetupDocument {
  const document = demoSetupDocument();
  const realm = document.realms[0]!;
  realm['resource_servers'] = [
    { identifier: ORDERS, scopes: ['orders:read'] },
    { identifier: OPAQUE, scopes: ['opaque:read'], access_token: { format: 'opaque' } },
    { identifier: BFF, scopes: ['bff:read'], access_token: { algorithm: 'RS256' } },
  ];
  const web1 = realm.clients!.find((client) => client['client_id'] === 'web1')!;
  web1['scope'] = `${String(web1['scope'])} orders:read`;
  realm.clients!.push(
    {
      client_id: ORDERS_SVC[0], client_secret: ORDERS_SVC[1], token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'], response_types: [], redirect_uris: [], post_logout_redirect_uris: [],
      scope: 'orders:read opaque:read', default_resource: ORDERS,
    },
    {
      client_id: BFF_CLIENT[0], client_secret: BFF_CLIENT[1], application_type: 'web', token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      redirect_uris: ['https://bff.test/cb'], post_logout_redirect_uris: ['https://bff.test/bye'],
      scope: 'openid profile offline_access bff:read',
    },
  );
  return document;
}

const { issuer } = await startLatchkey(t, { setup: parseSetup(misuseSetup()), logLevel: 'silent' });
const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/jwks`));

async function clientCredentials(resource: string, scope: string): Promise<string> {
  const response = await tokenRequest(issuer, { grant_type: 'client_credentials', scope, resource }, { basic: ORDERS_SVC });
  if (response.status !== 200) throw new Error(`token request failed: ${response.status} ${response.text}`);
  return response.json!['access_token'] as string;
}

/** An authorization request on the browser's current session, without any page: prompt=none. */
async function silentAuthorization(browser: Browser, config: oidc.Configuration, redirectUri: string, extra: Record<string, string> = {}): Promise<URL> {
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri, scope: 'openid', prompt: 'none',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
    ...extra,
  });
  const { url: landed } = await browser.follow(url.href);
  return new URL(landed);
}

/** Still signed in: a prompt=none authorization gets a code. */
async function signedIn(browser: Browser, config: oidc.Configuration, redirectUri: string): Promise<boolean> {
  return (await silentAuthorization(browser, config, redirectUri)).searchParams.has('code');
}

t.test('a JWT access token is never a refresh token, not even for the client it was issued to', async (t) => {
  const { tokens } = await codeFlow(issuer, { scope: 'openid orders:read offline_access', parameters: { resource: ORDERS } });
  const jwt = tokens.access_token;
  const { payload } = await jose.jwtVerify(jwt, jwks, { issuer, audience: ORDERS, typ: 'at+jwt' });
  t.equal(payload.client_id, 'web1', 'web1\'s own JWT access token');

  const offered: Record<string, string> = {
    'the JWT': jwt,
    'its jti': payload.jti!,
    'the shape of the handle introspection makes of it': `~jwt~${jwt}~${'A'.repeat(43)}`,
  };
  for (const [name, candidate] of Object.entries(offered)) {
    await t.test(`${name}, by web1`, async (t) => {
      assertOAuthError(t, await refreshRequest(issuer, candidate, WEB1), 400, 'invalid_grant', [jwt, tokens.refresh_token!]);
    });
  }
  await t.test('the JWT, by another client', async (t) => {
    assertOAuthError(t, await refreshRequest(issuer, jwt, WEB2), 400, 'invalid_grant', [jwt]);
  });
  await t.test('a service\'s JWT, by the service (which has no refresh_token grant)', async (t) => {
    const service = await clientCredentials(ORDERS, 'orders:read');
    assertOAuthError(t, await refreshRequest(issuer, service, ORDERS_SVC), 400, 'unauthorized_client', [service]);
  });

  t.equal((await introspect(issuer, jwt, RS)).json?.['active'], true, 'the JWT is still active');
  const refreshed = await refreshRequest(issuer, tokens.refresh_token!, WEB1);
  t.equal(refreshed.status, 200, 'and the real refresh token still works: the misuse revoked nothing');
});

t.test('a JWT access token is no ID token hint at the end-session endpoint, and ends no session', async (t) => {
  const { tokens, browser, config } = await codeFlow(issuer, { scope: 'openid orders:read', parameters: { resource: ORDERS } });
  const jwt = tokens.access_token;
  const endSession = (hint: string, extra: Record<string, string> = {}) =>
    browser.request(oidc.buildEndSessionUrl(config, { id_token_hint: hint, post_logout_redirect_uri: 'https://app.test/bye', ...extra }).href);

  for (const [name, extra] of [['alone', {}], ['with client_id=web1', { client_id: 'web1' }]] as const) {
    const refused = await endSession(jwt, extra);
    const page = await refused.text();
    t.ok(refused.status >= 400 && refused.status < 500, `${name}: refused with a 4xx (${refused.status})`);
    t.notMatch(page, /op\.logoutForm/, `${name}: no logout form`);
    t.equal(refused.headers.get('location'), null, `${name}: no redirect to the post-logout URI`);
  }
  t.ok(await signedIn(browser, config, 'https://app.test/cb'), 'alice is still signed in');

  const control = await endSession(tokens.id_token!);
  t.equal(control.status, 200, 'control: the ID token itself is a valid hint');
  t.match(await control.text(), /op\.logoutForm/);
});

t.test('a JWT access token is no ID token hint at the authorization endpoint', async (t) => {
  const { tokens, browser, config } = await codeFlow(issuer, { scope: 'openid orders:read', parameters: { resource: ORDERS } });
  const refused = await silentAuthorization(browser, config, 'https://app.test/cb', { id_token_hint: tokens.access_token });
  t.equal(refused.searchParams.get('error'), 'invalid_request', `an OAuth error (${refused.searchParams.get('error_description')})`);
  t.notOk(refused.searchParams.has('code'), 'no code');
  const control = await silentAuthorization(browser, config, 'https://app.test/cb', { id_token_hint: tokens.id_token! });
  t.ok(control.searchParams.has('code'), 'control: the ID token itself is a valid hint');
  t.ok(await signedIn(browser, config, 'https://app.test/cb'), 'alice is still signed in');
});

// The engine validates an id_token_hint by signature, iss and aud only
// (oidc-provider's IdToken.validate, no `typ`): an at+jwt whose aud is a
// client_id and whose alg is that client's ID token alg would pass as an ID
// token, but for refuseAccessTokensAsIdTokenHints (src/oidc/structured-access-tokens.ts).

t.test('a JWT access token whose aud is a client_id and whose alg is the ID token\'s is still no ID token hint', async (t) => {
  const { tokens, browser, config } = await codeFlow(issuer, {
    clientId: BFF, secret: BFF_CLIENT[1], redirectUri: 'https://bff.test/cb',
    scope: 'openid bff:read', parameters: { resource: BFF },
  });
  const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, { issuer, audience: BFF, typ: 'at+jwt' });
  t.equal(protectedHeader.alg, 'RS256', 'signed like an ID token');
  t.equal(payload.aud, BFF, 'for an audience that is a client_id');
  t.equal(jose.decodeProtectedHeader(tokens.id_token!).alg, 'RS256', 'control: the client\'s ID tokens are RS256 too');

  const authorization = await silentAuthorization(browser, config, 'https://bff.test/cb', { id_token_hint: tokens.access_token });
  t.equal(authorization.searchParams.get('error'), 'invalid_request', 'authorization endpoint: an OAuth error');
  t.notOk(authorization.searchParams.has('code'), 'authorization endpoint: no code');

  const endSession = await browser.request(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.access_token, post_logout_redirect_uri: 'https://bff.test/bye' }).href);
  const page = await endSession.text();
  t.ok(endSession.status >= 400 && endSession.status < 500, `end-session endpoint: refused with a 4xx (${endSession.status})`);
  t.notMatch(page, /op\.logoutForm/, 'end-session endpoint: no logout form');
  // Whatever page came back, the user clicks "Sign out" on it if it has the button.
  const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(page)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)?.[1];
  if (action && xsrf) {
    const confirmed = await browser.request(action.replace(/&amp;/g, '&'), { method: 'POST', form: { xsrf, logout: 'yes' } });
    t.not(confirmed.headers.get('location'), null, 'the logout went through, on the strength of an access token');
  }
  t.ok(await signedIn(browser, config, 'https://bff.test/cb'), 'alice is still signed in');
});

t.test('introspection by another client: a JWT gets exactly the answer an opaque token gets', async (t) => {
  const jwt = await clientCredentials(ORDERS, 'orders:read');
  const opaque = await clientCredentials(OPAQUE, 'opaque:read');
  t.notOk(opaque.includes('.'), 'control: an opaque token');
  const callers: [string, (token: string) => Promise<OAuthResponse>][] = [
    ['web2 (confidential, no introspection permission)', (token) => introspect(issuer, token, WEB2)],
    ['web1 (a client of the API, not the API)', (token) => introspect(issuer, token, WEB1)],
    ['svc (client credentials, no introspection permission)', (token) => introspect(issuer, token, SVC)],
    [`${BFF} (a resource server's identifier, of another audience)`, (token) => introspect(issuer, token, BFF_CLIENT)],
    ['spa1 (public)', (token) => introspect(issuer, token, undefined, { client_id: 'spa1' })],
  ];
  for (const [caller, ask] of callers) {
    const [forJwt, forOpaque] = [await ask(jwt), await ask(opaque)];
    t.equal(forOpaque.text, INACTIVE, `${caller}: the opaque token is {"active":false} and nothing else`);
    t.equal(forJwt.status, forOpaque.status, `${caller}: same status`);
    t.equal(forJwt.text, forOpaque.text, `${caller}: the same body for the JWT`);
  }
  for (const [caller, asClient] of [['orders-svc (its own tokens)', ORDERS_SVC], ['rs (introspection permission)', RS]] as const) {
    const [forJwt, forOpaque] = [await introspect(issuer, jwt, asClient), await introspect(issuer, opaque, asClient)];
    t.equal(forOpaque.json?.['active'], true, `control, ${caller}: the opaque token is active`);
    t.equal(forJwt.json?.['active'], true, `control, ${caller}: so is the JWT`);
    // The one difference: a JWT's jti is public (it is in the token), an opaque token's would be the token itself.
    const { jti, ...jwtFields } = forJwt.json ?? {};
    t.equal(jti, jose.decodeJwt(jwt).jti, `${caller}: the JWT's own jti`);
    t.same(Object.keys(jwtFields).sort(), Object.keys(forOpaque.json ?? {}).sort(), `${caller}: otherwise the same fields for both`);
  }

  // Revocation by a client that does not own the token: the same outcome for both.
  const [revokeJwt, revokeOpaque] = [await revoke(issuer, jwt, WEB2), await revoke(issuer, opaque, WEB2)];
  t.equal(revokeJwt.status, revokeOpaque.status, `web2 revoking: the same status (${revokeOpaque.status})`);
  t.equal(revokeJwt.text, revokeOpaque.text, 'and the same body');
  t.equal((await introspect(issuer, jwt, RS)).json?.['active'], true, 'the JWT is still active');
  t.equal((await introspect(issuer, opaque, RS)).json?.['active'], true, 'and so is the opaque token');
});

t.test('token_type_hint never changes the answer for a JWT: active stays active, revoked stays inactive', async (t) => {
  const { tokens } = await codeFlow(issuer, { scope: 'openid orders:read', parameters: { resource: ORDERS } });
  const jwts: [kind: string, jwt: string, owner: ClientCredentials][] = [
    ['a user\'s JWT (AccessToken)', tokens.access_token, WEB1],
    ['a service\'s JWT (ClientCredentials)', await clientCredentials(ORDERS, 'orders:read'), ORDERS_SVC],
  ];
  const HINTS = ['access_token', 'refresh_token', 'id_token', 'urn:ietf:params:oauth:token-type:jwt', 'nonsense', ''];
  for (const [kind, jwt, owner] of jwts) {
    for (const asClient of [RS, owner]) {
      const plain = await introspect(issuer, jwt, asClient);
      t.equal(plain.json?.['active'], true, `${kind}, asked by ${asClient[0]}: active`);
      for (const hint of HINTS) {
        const hinted = await introspect(issuer, jwt, asClient, { token_type_hint: hint });
        t.equal(hinted.status, 200, `${kind}, ${asClient[0]}, hint "${hint}": 200`);
        t.same(hinted.json, plain.json, `${kind}, ${asClient[0]}, hint "${hint}": the same answer`);
      }
    }
    // Revoked with a misleading hint (RFC 7009 §2.1: the server searches further).
    const revoked = await revoke(issuer, jwt, owner, { token_type_hint: 'refresh_token' });
    t.equal(revoked.status, 200, `${kind}: revoked with token_type_hint=refresh_token`);
    for (const hint of [undefined, ...HINTS]) {
      const answer = await introspect(issuer, jwt, RS, hint === undefined ? {} : { token_type_hint: hint });
      t.equal(answer.text, INACTIVE, `${kind}, revoked, hint ${hint === undefined ? 'none' : `"${hint}"`}: {"active":false}`);
    }
  }
});

// Last, on a server of its own: staged rotation (`latchkey keys rotate`, as
// in test/keys/restart-and-rotation.test.ts) on the shortest schedule the
// configuration allows. The schedule runs on the server's own clock, which no
// test can move: the test waits for the times `rotate` printed.
t.test('staged rotation: a JWT signed before it stays valid while its key is published, and not after', async (t) => {
  const LIFETIME = 30;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-jwt-rotation-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const keysDir = path.join(dir, 'keys');
  const setupFile = path.join(dir, 'setup.yaml');
  const fastKeys = { LATCHKEY_KEY_CHECK_SECONDS: '1', LATCHKEY_JWKS_MAX_AGE_SECONDS: '1', LATCHKEY_KEY_ACTIVATION_DELAY_SECONDS: '8' };
  const document: SetupDocument = {
    realms: [{
      name: 'default',
      // Every lifetime short but the resource server's: its JWTs are the tokens the old key must outlive.
      ttl: { id_token: 1, access_token: 1, client_credentials: 1 },
      resource_servers: [{ identifier: ORDERS, scopes: ['orders:read'], access_token: { lifetime: LIFETIME } }],
      clients: [
        {
          client_id: ORDERS_SVC[0], client_secret: ORDERS_SVC[1], token_endpoint_auth_method: 'client_secret_basic',
          grant_types: ['client_credentials'], response_types: [], redirect_uris: [], post_logout_redirect_uris: [],
          scope: 'orders:read', default_resource: ORDERS,
        },
        {
          client_id: RS[0], client_secret: RS[1], token_endpoint_auth_method: 'client_secret_basic',
          grant_types: ['client_credentials'], response_types: [], redirect_uris: [], post_logout_redirect_uris: [],
          permissions: ['introspection'],
        },
      ],
    }],
  };
  // The CLI reads the same setup (JSON is YAML), so it knows every lifetime the server uses.
  await writeFile(setupFile, JSON.stringify(document));

  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  if (database.databaseUrl) await migrate(database.databaseUrl);
  const port = await freePort();
  const rotating = `http://127.0.0.1:${port}`;
  const config = testConfig({ issuer: rotating, port, keysDir, databaseUrl: database.databaseUrl, setup: parseSetup(document), logLevel: 'silent', env: fastKeys });
  const latchkey = await assembleLatchkey(config, createLogger('silent'), {
    inMemory: !database.databaseUrl,
    embeddedImage: database.databaseUrl ? undefined : await emptyImage(),
  });
  await latchkey.app.listen({ port, host: '127.0.0.1' });
  t.teardown(() => latchkey.close());

  const issue = async () => {
    const response = await tokenRequest(rotating, { grant_type: 'client_credentials', scope: 'orders:read' }, { basic: ORDERS_SVC });
    if (response.status !== 200) throw new Error(`token request failed: ${response.status} ${response.text}`);
    return response.json!['access_token'] as string;
  };
  const kidOf = (jwt: string) => jose.decodeProtectedHeader(jwt).kid!;
  const publishedKids = async () => ((await (await fetch(`${rotating}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  /** What a resource server does: jose against the JWKS as published right now. */
  const verifies = async (jwt: string) => {
    const published = jose.createLocalJWKSet(await (await fetch(`${rotating}/jwks`)).json() as jose.JSONWebKeySet);
    return jose.jwtVerify(jwt, published, { issuer: rotating, audience: ORDERS, typ: 'at+jwt' }).then(() => true, () => false);
  };
  const active = async (jwt: string) => (await introspect(rotating, jwt, RS)).json?.['active'] === true;

  const before = await issue();
  const oldKid = kidOf(before);
  t.equal(jose.decodeProtectedHeader(before).alg, 'ES256', 'JWT access tokens are ES256: that is the key to rotate');
  t.ok(await verifies(before), 'before the rotation: the JWT verifies');
  t.ok(await active(before), 'and introspects active');

  const rotated = await runLatchkey(['keys', 'rotate', '--alg', 'ES256'], {
    env: {
      PATH: process.env.PATH, NODE_ENV: 'test', LATCHKEY_KEYS_DIR: keysDir, LATCHKEY_DATA_DIR: path.join(dir, 'cli-data'),
      LATCHKEY_CONFIG: setupFile, ...fastKeys,
      // The server's database when it has one the CLI can open (the embedded one here is in memory).
      ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
    },
  });
  t.equal(rotated.status, 0, `rotate: ${rotated.stderr}`);
  const schedule = /ES256: (\S+) is published now and signs from (\S+); \S+ retires then and is unpublished at (\S+)\./.exec(rotated.stdout);
  t.ok(schedule, `rotate names the new kid and its schedule: ${rotated.stdout}`);
  const [, newKid = '', activatesAt = '', droppedAt = ''] = schedule ?? [];

  t.ok(await waitFor(async () => (await publishedKids()).includes(newKid)), 'staged: the new key is published');
  t.ok(await verifies(before), 'staged: the JWT from before still verifies');
  t.ok(await active(before), 'staged: and still introspects active');

  await until(Date.parse(activatesAt));
  const after = await waitFor(async () => {
    const token = await issue();
    return kidOf(token) === newKid ? token : undefined;
  }, { intervalMs: 100 });
  t.ok(after, 'after the activation, new JWTs carry the new kid');
  t.ok((await publishedKids()).includes(oldKid), 'the retired key is still published (the overlap)');
  t.ok(await verifies(before), 'overlap: the JWT from before still verifies');
  t.ok(await active(before), 'overlap: and still introspects active');
  t.ok(after && await verifies(after), 'the new JWT verifies');
  t.ok(after && await active(after), 'and introspects active');

  // A key must stay published until every token it signed has expired; it
  // signs until its successor activates (plus the time servers take to notice).
  const lastExpiry = Date.parse(activatesAt) + (Number(fastKeys.LATCHKEY_KEY_CHECK_SECONDS) + LIFETIME) * 1000;
  t.ok(Date.parse(droppedAt) >= lastExpiry, `the old key is unpublished (${droppedAt}) only after the last JWT it signed expired (${new Date(lastExpiry).toISOString()})`);

  await until(Date.parse(droppedAt));
  const kids = await waitFor(async () => {
    const published = await publishedKids();
    return published.includes(oldKid) ? undefined : published;
  });
  const unpublishedAt = Date.now();
  t.ok(kids, 'once its time is up the old key is no longer published');
  t.ok(unpublishedAt >= jose.decodeJwt(before).exp! * 1000, 'by then the JWT it signed has expired');
  t.notOk(await verifies(before), 'the JWT from before no longer verifies');
  t.same((await introspect(rotating, before, RS)).json, { active: false }, 'and introspects inactive, and nothing else');
  // `after` has expired by now too (the wait was as long as its lifetime): a fresh one shows the new key serving.
  const latest = await issue();
  t.equal(kidOf(latest), newKid, 'a JWT issued now carries the new kid');
  t.ok(await verifies(latest) && await active(latest), 'and verifies and introspects active');
});
