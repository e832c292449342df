// An API that checks access tokens by introspection (RFC 7662), tested end to
// end over HTTP with a real identity provider: Latchkey, started inside this
// test process.
//
//   npx tap examples/tap/
import { createServer } from 'node:http';
import t from 'tap';
import { startLatchkey } from 'latchkey';

const ORDERS = [{ id: 'o-1001', total: 42.5 }, { id: 'o-1002', total: 17 }];

// The API under test: GET /orders needs an active access token with the
// orders:read scope. It asks the identity provider about every token (no
// cache), so a revoked or expired token is refused at once.
function startOrdersApi({ introspectionEndpoint, clientId, clientSecret }) {
  // RFC 6749 §2.3.1: the id and secret are form-encoded, then base64.
  const credentials = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
  const server = createServer(async (req, res) => {
    const reply = (status, body, headers = {}) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    if (req.method !== 'GET' || req.url !== '/orders') return reply(404, { error: 'not_found' });
    const token = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return reply(401, { error: 'invalid_request' }, { 'www-authenticate': 'Bearer' });
    const answer = await fetch(introspectionEndpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${credentials}`, accept: 'application/json' },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    });
    // The identity provider refusing the API itself is not the caller's fault.
    if (!answer.ok) return reply(503, { error: 'temporarily_unavailable' });
    const info = await answer.json();
    if (info.active !== true) return reply(401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    if (!String(info.scope ?? '').split(' ').includes('orders:read')) {
      return reply(403, { error: 'insufficient_scope' }, { 'www-authenticate': 'Bearer error="insufficient_scope", scope="orders:read"' });
    }
    reply(200, { client: info.client_id, orders: ORDERS });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((done) => { server.close(done); server.closeAllConnections(); }),
  })));
}

// What the identity provider knows: a backend service that calls the API,
// and the API itself as a client allowed to introspect any token of the realm.
const setup = {
  realms: [{
    name: 'default',
    clients: [
      { client_id: 'checkout-service', client_secret: 'checkout-service-secret', grant_types: ['client_credentials'], scope: 'orders:read inventory:read' },
      { client_id: 'orders-api', client_secret: 'orders-api-secret', grant_types: ['client_credentials'], permissions: ['introspection'] },
    ],
  }],
};

let idp;
let api;

t.before(async () => {
  idp = await startLatchkey({ setup });
  // The API is configured as in production: from the issuer's discovery document.
  const discovery = await (await fetch(idp.discoveryUrl)).json();
  api = await startOrdersApi({ introspectionEndpoint: discovery.introspection_endpoint, clientId: 'orders-api', clientSecret: 'orders-api-secret' });
});

t.teardown(async () => {
  await api?.close();
  await idp?.stop();
});

const getOrders = (accessToken) => fetch(`${api.url}/orders`, { headers: { authorization: `Bearer ${accessToken}` } });
const serviceToken = (scope = 'orders:read') => idp.clientCredentials({ clientId: 'checkout-service', scope });

t.test('a service token with orders:read gets the orders', async (t) => {
  const { access_token: token } = await serviceToken();
  const response = await getOrders(token);
  t.equal(response.status, 200);
  t.same(await response.json(), { client: 'checkout-service', orders: ORDERS });
});

t.test('a revoked token is refused', async (t) => {
  const { access_token: token } = await serviceToken();
  t.equal((await getOrders(token)).status, 200, 'accepted before');
  await idp.revoke(token, { clientId: 'checkout-service' });
  t.equal((await getOrders(token)).status, 401, 'refused after');
});

t.test('a token without orders:read: 403', async (t) => {
  const { access_token: token, scope } = await serviceToken('inventory:read');
  t.equal(scope, 'inventory:read');
  t.equal((await getOrders(token)).status, 403);
});

// Last: it ages everything the server holds, so no token of the tests above would still be valid.
t.test('an expired token is refused', async (t) => {
  const { access_token: token, expires_in: lifetime } = await serviceToken();
  t.ok(lifetime < 3600, `it lives ${lifetime} s`);
  t.equal((await getOrders(token)).status, 200, 'accepted before');
  await idp.clock.advance(3600);
  t.equal((await getOrders(token)).status, 401, 'refused an hour later');
});
