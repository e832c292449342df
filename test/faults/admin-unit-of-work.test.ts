import pg from 'pg';
import t, { type Test } from 'tap';
import { proxiedDatabase } from '../helpers/proxied-database.ts';
import { SECRETS } from '../helpers/setups.ts';
import { isActive, tokenRequest } from '../helpers/token-requests.ts';
import { waitFor } from '../helpers/waiting.ts';
import { startAdmin, type AdminAnswer } from '../admin/admin-setup.ts';

// DESIGN decision 10 for the admin API: a changing request commits all its
// writes or none. A fault is injected before each statement of a request in
// turn (its token lookup included); each time the answer is a 503 problem
// with Retry-After and the database is exactly as before; with no fault
// left to fire, the request does all of it.
const proxied = await proxiedDatabase(t);
if (!proxied) {
  t.plan(0, 'no PostgreSQL server reachable to inject faults into');
} else {
  const { proxy, databaseUrl } = proxied;
  const inspector = new pg.Client({ connectionString: databaseUrl });
  await inspector.connect();
  t.teardown(() => inspector.end());

  // No audit events: their batches are written on the same pool a little later, and a fault counted onto one of them
  // resets every connection, the request's own among them, possibly after its COMMIT arrived (an outcome no server
  // can know). Audit writes under outages are tested in test/audit/audit-outage.test.ts.
  const admin = await startAdmin(t, { databaseUrl: proxied.viaProxy, env: { LATCHKEY_AUDIT: 'off' } });
  const snapshot = async () => ({
    users: (await inspector.query('select realm, id, username, password_hash, disabled from users order by realm, id')).rows,
    clients: (await inspector.query('select realm, client_id, metadata, secret_hash from clients order by realm, client_id')).rows,
    payloads: (await inspector.query("select model, id from oidc_payloads where model not in ('Session', 'Interaction') order by model, id")).rows,
  });

  async function faultAtEveryStatement(t: Test, attempt: () => Promise<AdminAnswer>, success: number): Promise<number> {
    for (let n = 1; n <= 40; n += 1) {
      await waitFor(async () => (await fetch(`${admin.issuer}/readyz`)).status === 200, { timeoutMs: 10_000 });
      const before = await snapshot();
      let fired = false;
      proxy.failAtStatement(n, () => { fired = true; });
      const response = await attempt();
      proxy.disarm();
      if (!fired) {
        t.equal(response.status, success, `with no fault left to fire (statement ${n}), it is done`);
        return n - 1;
      }
      t.equal(response.status, 503, `fault at statement ${n}: 503`);
      t.ok(Number(response.headers.get('retry-after')) > 0, `fault at statement ${n}: Retry-After`);
      t.equal(response.json?.type, 'about:blank', `fault at statement ${n}: problem details`);
      await proxy.restore();
      t.same(await snapshot(), before, `fault at statement ${n}: nothing was written`);
    }
    throw new Error('the request never succeeded');
  }

  t.test('removing a user with live tokens: all of it or nothing', async (t) => {
    const svcToken = String((await tokenRequest(admin.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['svc', SECRETS.svc] })).json!['access_token']);
    await admin.call('POST', '/v1/realms/default/users', { token: admin.tokens.full, body: { username: 'temp', password: 'temp-password-1' } });
    const faults = await faultAtEveryStatement(t, () => admin.call('DELETE', '/v1/realms/default/users/temp', { token: admin.tokens.full }), 204);
    t.ok(faults >= 3, `faults were injected at ${faults} statements (token lookup, client, user, deletes, commit)`);
    t.equal((await admin.call('GET', '/v1/realms/default/users/temp', { token: admin.tokens.full })).status, 404);
    t.ok(await isActive(admin.issuer, svcToken, ['rs', SECRETS.rs]), 'nobody else\'s tokens were touched');
  });

  t.test('adding a client: all of it or nothing; the retry gets its secret', async (t) => {
    let created: AdminAnswer | undefined;
    await faultAtEveryStatement(t, async () => (created = await admin.call('POST', '/v1/realms/default/clients', {
      token: admin.tokens.full, body: { client_id: 'retried', grant_types: ['client_credentials'], scope: 'api:read' },
    })), 201);
    const issued = await tokenRequest(admin.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['retried', created!.json.client_secret] });
    t.equal(issued.status, 200, 'the secret of the answer that succeeded works');
  });
}
