import t, { type Test } from 'tap';
import { ADMIN_ROUTES } from '../../src/admin/admin-routes.ts';
import type { AdminRoute } from '../../src/admin/admin-route.ts';
import { ADMIN_SECRETS, startAdmin, type AdminAnswer } from './admin-setup.ts';

// The authorization matrix, generated from the route table: every route of
// the admin API, with no token, with a valid token of a client that is no
// admin, with a token of a scraper (admin:metrics only), with a read-only
// admin token and with a full one. A route added to
// the table is in this matrix without anyone writing a line here.
//
// Refused requests name real resources (web1, alice), and the realm's
// clients and users are compared before and after: a refused request
// changes nothing. Allowed ones name resources that do not exist (or send
// an empty body), so that they pass authorization and then fail harmlessly.
const admin = await startAdmin(t);

const REAL = { realm: 'default', clientId: 'web1', username: 'alice' };
const ABSENT = { realm: 'default', clientId: 'matrix-no-such-client', username: 'matrix-no-such-user' };

function pathOf(route: AdminRoute, ids: Record<string, string>): string {
  return route.url.replace(/:([A-Za-z]+)/g, (_, name: string) => encodeURIComponent(ids[name] ?? 'x'));
}

function request(route: AdminRoute, ids: Record<string, string>, token: string | undefined): Promise<AdminAnswer> {
  return admin.call(route.method, pathOf(route, ids), { token, ...(route.schema.body ? { body: {} } : {}) });
}

function assertProblem(t: Test, answer: AdminAnswer, status: number): void {
  t.equal(answer.status, status, `HTTP ${status}`);
  t.match(answer.headers.get('content-type'), /^application\/problem\+json/, 'problem details');
  t.equal(answer.headers.get('cache-control'), 'no-store', 'no-store');
  t.equal(answer.json?.status, status, 'status in the problem');
}

async function snapshot() {
  const clients = await admin.call('GET', '/v1/realms/default/clients?limit=200', { token: admin.tokens.full });
  const users = await admin.call('GET', '/v1/realms/default/users?limit=200', { token: admin.tokens.full });
  return { clients: clients.json, users: users.json };
}

const before = await snapshot();
// A Prometheus server's token: /metrics only.
const metricsOnly = await admin.token('admin-metrics', ADMIN_SECRETS.metrics, 'admin:metrics');

t.ok(ADMIN_ROUTES.length >= 12, `the table has ${ADMIN_ROUTES.length} routes`);

/** Every name of the test setup a page with data would show: a `none` route shows none of them. */
const DATA = ['web1', 'alice', 'admin-full', 'acme', 'svc-secret', 'alice@example.test'];

for (const route of ADMIN_ROUTES.filter((r) => r.scope === 'none')) {
  t.test(`${route.method} ${route.url} (none: static documentation)`, async (t) => {
    t.equal(route.method, 'GET', 'only GET goes without a token');
    const anonymous = await request(route, REAL, undefined);
    t.equal(anonymous.status, 200, 'answered without a token');
    t.equal(anonymous.headers.get('cache-control'), 'no-store');
    t.same(DATA.filter((name) => anonymous.text.includes(name)), [], 'no data of the server in it');
    const full = await request(route, REAL, admin.tokens.full);
    t.equal(full.text, anonymous.text, 'the same for a full token: static');
  });
}

for (const route of ADMIN_ROUTES.filter((r) => r.scope !== 'none')) {
  t.test(`${route.method} ${route.url} (${route.scope})`, async (t) => {
    const none = await request(route, REAL, undefined);
    assertProblem(t, none, 401);
    t.equal(none.headers.get('www-authenticate'), 'Bearer realm="latchkey-admin"', 'no token: a challenge without an error code (RFC 6750 §3.1)');

    const notAdmin = await request(route, REAL, admin.tokens.notAdmin);
    assertProblem(t, notAdmin, 403);
    t.equal(notAdmin.headers.get('www-authenticate'), `Bearer realm="latchkey-admin", error="insufficient_scope", scope="${route.scope}"`, 'a client without the admin permission');
    t.equal(notAdmin.json?.code, 'insufficient_scope');

    const scrape = await request(route, route.scope === 'admin:metrics' ? ABSENT : REAL, metricsOnly);
    if (route.scope === 'admin:metrics') {
      t.notOk([401, 403].includes(scrape.status), `admin:metrics token passes (HTTP ${scrape.status})`);
      t.ok(scrape.status < 500, 'and is answered');
    } else {
      assertProblem(t, scrape, 403);
      t.equal(scrape.headers.get('www-authenticate'), `Bearer realm="latchkey-admin", error="insufficient_scope", scope="${route.scope}"`, 'admin:metrics token refused');
    }

    const readOnly = await request(route, route.scope === 'admin:write' ? REAL : ABSENT, admin.tokens.readOnly);
    if (route.scope !== 'admin:write') {
      t.notOk([401, 403].includes(readOnly.status), `read-only token passes (HTTP ${readOnly.status})`);
      t.ok(readOnly.status < 500, 'and is answered');
    } else {
      assertProblem(t, readOnly, 403);
      t.equal(readOnly.headers.get('www-authenticate'), 'Bearer realm="latchkey-admin", error="insufficient_scope", scope="admin:write"', 'read-only token refused');
    }

    const full = await request(route, ABSENT, admin.tokens.full);
    t.notOk([401, 403].includes(full.status), `full token passes (HTTP ${full.status})`);
    t.ok(full.status < 500, 'and is answered');
  });
}

t.test('the refused requests changed nothing', async (t) => {
  t.same(await snapshot(), before);
});
