// An API that accepts JWT access tokens, tested end to end over HTTP with a
// real identity provider: Latchkey, started inside this test process.
//
//   npm run build && node --test examples/node-test/*.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { startLatchkey } from 'latchkey';

const ORDERS_API = 'https://orders.example.test';
const BILLING_API = 'https://billing.example.test';
const ORDERS = [{ id: 'o-1001', total: 42.5 }, { id: 'o-1002', total: 17 }];

// The API under test, as small as a real one gets: GET /orders for a bearer
// JWT access token (RFC 9068) that this issuer signed for this audience. It
// verifies tokens locally, with the issuer's published keys. `now` is there
// so that a test can age a token: a JWT's own `exp` cannot be changed.
function startOrdersApi({ issuer, jwksUri, audience, now = () => new Date() }) {
  const keys = createRemoteJWKSet(new URL(jwksUri));
  const server = createServer(async (req, res) => {
    const reply = (status, body, headers = {}) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    if (req.method !== 'GET' || req.url !== '/orders') return reply(404, { error: 'not_found' });
    const token = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return reply(401, { error: 'invalid_request' }, { 'www-authenticate': 'Bearer' });
    try {
      // typ at+jwt: an ID token, signed by the same keys, is no access token.
      const { payload } = await jwtVerify(token, keys, { issuer, audience, typ: 'at+jwt', currentDate: now() });
      reply(200, { caller: payload.sub, client: payload.client_id, orders: ORDERS });
    } catch {
      reply(401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((done) => { server.close(done); server.closeAllConnections(); }),
  })));
}

// What the identity provider knows: the two APIs as resource servers (a token
// asked for one with `resource`, RFC 8707, is a JWT with it as audience), a
// backend service, a web app with a user, alice.
const setup = {
  realms: [{
    name: 'default',
    resource_servers: [
      { identifier: ORDERS_API, scopes: ['orders:read'], access_token: { format: 'jwt', algorithm: 'ES256' } },
      { identifier: BILLING_API, scopes: ['billing:read'], access_token: { format: 'jwt', algorithm: 'ES256' } },
    ],
    clients: [
      { client_id: 'checkout-service', client_secret: 'checkout-service-secret', grant_types: ['client_credentials'], scope: 'orders:read billing:read' },
      {
        client_id: 'shop-web', client_secret: 'shop-web-secret', grant_types: ['authorization_code'],
        redirect_uris: ['http://localhost:3000/callback'], scope: 'openid profile orders:read',
      },
    ],
    users: [{ username: 'alice', password: 'alice-password', name: 'Alice Example' }],
  }],
};

let idp;
let api;
let apiNow = () => new Date();

before(async () => {
  idp = await startLatchkey({ setup });
  // The API is configured as in production: from the issuer's discovery document.
  const discovery = await (await fetch(idp.discoveryUrl)).json();
  api = await startOrdersApi({ issuer: discovery.issuer, jwksUri: discovery.jwks_uri, audience: ORDERS_API, now: () => apiNow() });
});

after(async () => {
  await api?.close();
  await idp?.stop();
});

const getOrders = (accessToken) => fetch(`${api.url}/orders`, accessToken === undefined ? {} : { headers: { authorization: `Bearer ${accessToken}` } });
const serviceToken = (resource = ORDERS_API, scope = 'orders:read') =>
  idp.clientCredentials({ clientId: 'checkout-service', scope, resource }).then((tokens) => tokens.access_token);

test('a service token for the orders API gets the orders', async () => {
  const response = await getOrders(await serviceToken());
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { caller: 'checkout-service', client: 'checkout-service', orders: ORDERS });
});

test('no token: 401', async () => {
  const response = await getOrders(undefined);
  assert.equal(response.status, 401);
  assert.match(response.headers.get('www-authenticate'), /^Bearer/);
});

test('a genuine token for another API: 401', async () => {
  const token = await serviceToken(BILLING_API, 'billing:read');
  // Signed by the same issuer, so only the audience check can refuse it.
  assert.equal(decodeJwt(token).aud, BILLING_API);
  assert.equal((await getOrders(token)).status, 401);
});

test('a tampered token: 401', async () => {
  const token = await serviceToken();
  const [header, , signature] = token.split('.');
  const claims = { ...decodeJwt(token), sub: 'someone-else' };
  const tampered = [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
  assert.equal((await getOrders(tampered)).status, 401);
  assert.equal((await getOrders(token)).status, 200, 'the token it was made from is accepted');
});

test('an expired token: 401', async (t) => {
  const { access_token: token, expires_in: lifetime } = await idp.clientCredentials({ clientId: 'checkout-service', scope: 'orders:read', resource: ORDERS_API });
  assert.equal((await getOrders(token)).status, 200);
  // Move the API's clock past the token's lifetime (jose allows no clock skew unless told to).
  apiNow = () => new Date(Date.now() + (lifetime + 1) * 1000);
  t.after(() => { apiNow = () => new Date(); });
  assert.equal((await getOrders(token)).status, 401);
});

test('a signed-in user\'s token gets the orders, and the API knows who the user is', async () => {
  // The authorization code flow for alice, through the web app, as her browser would have done it.
  const tokens = await idp.signIn({ username: 'alice', clientId: 'shop-web', scope: 'openid profile orders:read', resource: ORDERS_API });
  const user = decodeJwt(tokens.id_token);
  assert.equal(user.preferred_username, 'alice');

  const response = await getOrders(tokens.access_token);
  assert.equal(response.status, 200);
  const body = await response.json();
  // The access token's `sub` is the user's stable id, the same as in the ID token.
  assert.equal(body.caller, user.sub);
  assert.notEqual(body.caller, 'shop-web');
  assert.equal(body.client, 'shop-web');
});
