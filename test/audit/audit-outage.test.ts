import { Writable } from 'node:stream';
import t from 'tap';
import { createAuditTrail } from '../../src/audit/audit-events.ts';
import { createLogger } from '../../src/log/logger.ts';
import { openDatabase } from '../../src/store/database.ts';
import { startAdmin } from '../admin/admin-setup.ts';
import { proxiedDatabase } from '../helpers/proxied-database.ts';
import { SECRETS } from '../helpers/setups.ts';
import { tokenRequest } from '../helpers/token-requests.ts';
import { waitFor } from '../helpers/waiting.ts';

// Audit events while the database is out of reach: the request an event
// describes is answered as it would be (here a refused admin write, which
// needs no database), the event waits in memory and arrives once the
// database is back; past the buffer's bound the oldest are dropped and
// counted in the log. An outage needs a database server; in embedded mode
// the suite uses the local PostgreSQL when there is one.
const proxied = await proxiedDatabase(t);
if (!proxied) {
  t.plan(0, 'no PostgreSQL server reachable to take down');
} else {
  const admin = await startAdmin(t, { databaseUrl: proxied.viaProxy });
  const list = async (query: string) => {
    const answer = await admin.call('GET', `/v1/realms/default/audit-events?${query}`, { token: admin.tokens.readOnly });
    return answer.status === 200 ? answer.json.items as { type: string; outcome: string; details: Record<string, unknown> }[] : undefined;
  };

  t.test('a request whose event cannot be written is answered all the same; the event arrives after recovery', async (t) => {
    await proxied.proxy.cut();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      statuses.push((await admin.call('DELETE', `/v1/realms/acme/clients/during-outage-${i}`)).status);
    }
    t.same(statuses, [401, 401, 401], 'refused for what it is, not 5xx');
    const failed = await waitFor(() => admin.logs.some((line) => line.includes('audit events could not be written')), { timeoutMs: 30_000, intervalMs: 50 });
    t.ok(failed, 'the write failed, and the log says so');
    await proxied.proxy.restore();
    const arrived = await waitFor(async () => {
      const items = await list('type=admin.deleteClient&outcome=failure');
      return items && items.length === 3 ? items : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    t.same(arrived?.map((event) => event.details['target']).sort(), ['during-outage-0', 'during-outage-1', 'during-outage-2'], 'all three, once each');
    if (!arrived) t.comment(JSON.stringify({ found: await list('type=admin'), log: admin.logs.filter((line) => /audit events|warn/.test(line)).slice(-10) }));
    t.ok(admin.logs.some((line) => line.includes('audit events are written again')), 'and that they are written again');
  });

  t.test('a token whose commit failed (503) is not recorded as issued; the next one is', async (t) => {
    const issue = () => tokenRequest(admin.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['svc', SECRETS.svc] });
    const issuedBetween = async (since: Date, until: Date) =>
      (await list(`type=token.issued&client_id=svc&since=${since.toISOString()}&until=${until.toISOString()}`))?.length;
    // One answered first: the client is then in the engine's cache, and the next request gets as far as its commit.
    t.equal((await issue()).status, 200);
    await proxied.proxy.cut();
    const refusedFrom = new Date();
    t.equal((await issue()).status, 503, 'the commit failed: nothing issued');
    const refusedUntil = new Date(Date.now() + 1);
    await proxied.proxy.restore();
    const answeredFrom = new Date();
    t.equal((await issue()).status, 200);
    const answered = await waitFor(async () => ((await issuedBetween(answeredFrom, new Date(Date.now() + 1))) === 1 ? 1 : undefined), { timeoutMs: 30_000, intervalMs: 100 });
    t.equal(answered, 1, 'the token the client got is recorded');
    t.equal(await issuedBetween(refusedFrom, refusedUntil), 0, 'the one it did not get is not');
  });

  t.test('a full buffer drops the oldest, counted in the log; the rest arrive', async (t) => {
    const lines: string[] = [];
    const logger = createLogger('info', new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }));
    const database = await openDatabase({ databaseUrl: proxied.viaProxy, logger, connectTimeoutMs: 500 });
    t.teardown(() => database.close());
    const trail = createAuditTrail(database.db, logger, { maxBuffered: 5 });
    await proxied.proxy.cut();
    for (let i = 0; i < 8; i += 1) trail.record({ realm: 'acme', type: 'test.buffered', outcome: 'success', details: { n: i } });
    t.equal(trail.pending, 5, 'at most the bound in memory');
    await trail.flush();
    t.equal(trail.pending, 5, 'kept while the database is out');
    await proxied.proxy.restore();
    await waitFor(async () => { await trail.flush().catch(() => {}); return trail.pending === 0; }, { timeoutMs: 30_000, intervalMs: 250 });
    await trail.close();
    const stored = await database.db.selectFrom('audit_events').select('details').where('type', '=', 'test.buffered').execute();
    t.same(stored.map((row) => row.details['n']).sort(), [3, 4, 5, 6, 7], 'the newest five');
    const warning = lines.map((line) => JSON.parse(line) as { msg: string; dropped?: number }).find((entry) => entry.msg.startsWith('audit events dropped'));
    t.equal(warning?.dropped, 3, 'the three dropped, counted');
  });
}
