import t from 'tap';
import { proxiedDatabase } from '../helpers/proxied-database.ts';
import { waitFor } from '../helpers/waiting.ts';
import { startAdmin } from '../admin/admin-setup.ts';

// The admin API while the database is out of reach: 503 problem details
// with Retry-After, never a 500, a hang or a 401 (a token that cannot be
// looked up is not an invalid one), nothing half-written; it recovers by
// itself. An outage needs a database server; in embedded mode the suite
// still uses the local PostgreSQL when there is one.
const proxied = await proxiedDatabase(t);
if (!proxied) {
  t.plan(0, 'no PostgreSQL server reachable to take down');
} else {
  const admin = await startAdmin(t, { databaseUrl: proxied.viaProxy });
  const call = (method: string, path: string, body?: unknown) => admin.call(method, path, { token: admin.tokens.full, body });
  t.equal((await call('GET', '/v1/realms/default/clients')).status, 200, 'up');

  await proxied.proxy.cut();

  t.test('reads, writes and the token lookup: 503 with Retry-After, as problem details', async (t) => {
    for (const [method, path, body] of [
      ['GET', '/v1/realms/default/clients', undefined],
      ['GET', '/v1/realms/default/users/alice', undefined],
      ['POST', '/v1/realms/default/clients', { client_id: 'during-outage', grant_types: ['client_credentials'] }],
      ['PUT', '/v1/realms/default/users/alice/password', { password: 'during-outage-1' }],
    ] as const) {
      const answer = await call(method, path, body);
      t.equal(answer.status, 503, `${method} ${path}: 503`);
      t.ok(Number(answer.headers.get('retry-after')) > 0, 'Retry-After');
      t.match(answer.headers.get('content-type'), /^application\/problem\+json/);
      t.notMatch(answer.text, /ECONN|Connection terminated|at \w+ \(|pg|kysely/i, 'no internals');
    }
  });

  t.test('back up: answered again, and nothing of the refused writes happened', async (t) => {
    await proxied.proxy.restore();
    const back = await waitFor(async () => (await call('GET', '/v1/realms/default/clients')).status === 200, { timeoutMs: 30_000, intervalMs: 200 });
    t.ok(back, 'recovers by itself');
    t.equal((await call('GET', '/v1/realms/default/clients/during-outage')).status, 404);
    t.ok(await admin.latchkey.services.accounts.authenticate('default', 'alice', 'alice-password-for-tests'), 'alice\'s password unchanged');
    t.equal((await call('GET', '/v1/realms')).status, 200, 'the outage counted as no failed token');
  });
}
