import { randomUUID } from 'node:crypto';
import t from 'tap';
import { insertAuditEvents, type NewAuditEvent } from '../../src/store/audit-event.repository.ts';
import { startAdmin } from '../admin/admin-setup.ts';
import { tokenRequest } from '../helpers/token-requests.ts';
import { SECRETS } from '../helpers/setups.ts';
import { waitFor } from '../helpers/waiting.ts';

// The admin endpoint's filters and cursor pages over events written straight
// into the table (so that times and counts are the test's), retention
// (LATCHKEY_AUDIT_RETENTION_DAYS), and LATCHKEY_AUDIT=off.

const DAY = 86_400_000;
const admin = await startAdmin(t, { env: { LATCHKEY_SWEEP_INTERVAL_SECONDS: '1', LATCHKEY_AUDIT_RETENTION_DAYS: '30' } });
const db = admin.latchkey.services.database.db;
const base = Date.now() - DAY;

function event(i: number, fields: Partial<NewAuditEvent> = {}): NewAuditEvent {
  return {
    id: randomUUID(), occurred_at: new Date(base + i * 1000), realm: 'acme', type: i % 2 ? 'sign_in.failed' : 'sign_in.succeeded',
    outcome: i % 2 ? 'failure' : 'success', actor: null, client_id: i % 3 ? 'web1' : 'web2', subject: `user-${i % 4}`,
    address: '192.0.2.1', request_id: `req-${i}`, details: { n: i }, ...fields,
  };
}

// 45 events, one a second; two more sharing one instant (the cursor must tell them apart).
const seeded = Array.from({ length: 45 }, (_, i) => event(i));
const sameInstant = new Date(base + 100_000);
seeded.push(event(100, { occurred_at: sameInstant, type: 'token.issued', outcome: 'success' }), event(101, { occurred_at: sameInstant, type: 'token.issued', outcome: 'success' }));
await insertAuditEvents(db, seeded);

const get = (query: string, realm = 'acme') => admin.call('GET', `/v1/realms/${realm}/audit-events${query}`, { token: admin.tokens.readOnly });
const numbers = (items: { details: { n: number } }[]) => items.map((item) => item.details.n);

t.test('newest first, in cursor pages that neither skip nor repeat', async (t) => {
  const seen: number[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const answer = await get(`?limit=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    t.equal(answer.status, 200);
    seen.push(...numbers(answer.json.items));
    cursor = answer.json.next_cursor;
    pages += 1;
  } while (cursor && pages < 20);
  t.equal(pages, 5);
  const expected = seeded.slice().sort((a, b) => b.occurred_at.getTime() - a.occurred_at.getTime() || (b.id < a.id ? -1 : 1)).map((e) => e.details['n']);
  t.same(seen, expected, 'every event once, newest first');
});

t.test('filters: type or family, client, user, outcome, since/until; they combine', async (t) => {
  t.same(numbers((await get('?type=token.issued')).json.items).sort(), [100, 101], 'an exact type');
  t.equal((await get('?type=sign_in&limit=200')).json.items.length, 45, 'a family');
  t.equal((await get('?type=sign_in.&limit=200')).json.items.length, 45, 'a family with its dot');
  t.equal((await get('?type=sign&limit=200')).json.items.length, 0, 'a family is whole: sign is not sign_in');
  const failures = (await get('?outcome=failure&limit=200')).json.items as { outcome: string }[];
  t.ok(failures.length === 22 && failures.every((e) => e.outcome === 'failure'), 'outcome');
  const web2 = (await get('?client_id=web2&limit=200')).json.items as { client_id: string }[];
  t.ok(web2.length > 0 && web2.every((e) => e.client_id === 'web2'), 'client');
  const user = (await get('?user=user-1&type=sign_in.failed&limit=200')).json.items as { user: string; type: string }[];
  t.ok(user.length > 0 && user.every((e) => e.user === 'user-1' && e.type === 'sign_in.failed'), 'user and type together');
  const since = new Date(base + 10_000).toISOString();
  const until = new Date(base + 20_000).toISOString();
  t.same(numbers((await get(`?since=${since}&until=${until}`)).json.items), [19, 18, 17, 16, 15, 14, 13, 12, 11, 10], 'since inclusive, until exclusive');
  t.equal((await get('', 'default')).json.items.some((e: { realm: string }) => e.realm === 'acme'), false, 'one realm at a time');
});

t.test('bad queries are 400 problems, never 5xx', async (t) => {
  for (const query of ['?since=yesterday', '?until=2026-13-45T99:00:00Z', '?outcome=maybe', '?type=a%20b', "?type=sign_in'--", '?cursor=k1.bm9wZQ', '?cursor=junk', '?limit=0', '?limit=1000', '?colour=red']) {
    const answer = await get(query);
    t.equal(answer.status, 400, query);
    t.match(answer.headers.get('content-type'), /problem\+json/);
  }
  t.equal((await get('', 'nowhere')).status, 404, 'a realm not served');
  t.equal((await admin.call('GET', '/v1/realms/acme/audit-events', { token: admin.tokens.notAdmin })).status, 403, 'admin:read needed');
});

t.test('retention: events older than LATCHKEY_AUDIT_RETENTION_DAYS are deleted, the others stay', async (t) => {
  const old = [event(200, { occurred_at: new Date(Date.now() - 31 * DAY) }), event(201, { occurred_at: new Date(Date.now() - 400 * DAY) })];
  const young = event(202, { occurred_at: new Date(Date.now() - 29 * DAY) });
  await insertAuditEvents(db, [...old, young]);
  const remaining = async () => (await db.selectFrom('audit_events').select('id').where('id', 'in', [...old, young].map((e) => e.id)).execute()).map((row) => row.id);
  const gone = await waitFor(async () => (await remaining()).length === 1, { timeoutMs: 30_000, intervalMs: 250 });
  t.ok(gone, 'the old ones are deleted');
  t.same(await remaining(), [young.id], 'the one within the retention stays');
});

t.test('at the default log level: failures and admin changes are logged, successes only stored (as Keycloak logs its events)', async (t) => {
  const before = admin.logs.length;
  t.equal((await tokenRequest(admin.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['svc', SECRETS.svc] })).status, 200);
  t.equal((await tokenRequest(admin.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['svc', 'not-the-secret'] })).status, 401);
  t.equal((await admin.call('POST', '/v1/realms/acme/users', { token: admin.tokens.full, body: { username: 'logged-change', password: 'a-password-for-the-log-test' } })).status, 201);
  const stored = await waitFor(async () => {
    const types = (await db.selectFrom('audit_events').select(['type', 'client_id']).where('occurred_at', '>', new Date(Date.now() - 60_000)).execute());
    return types.some((e) => e.type === 'admin.createUser') && types.some((e) => e.type === 'token.issued' && e.client_id === 'svc') ? types : undefined;
  }, { timeoutMs: 20_000, intervalMs: 100 });
  t.ok(stored, 'all three stored');
  const lines = admin.logs.slice(before).filter((line) => line.includes('"audit":')).map((line) => JSON.parse(line) as { level: number; audit: { type: string } });
  const levelOf = (type: string) => lines.filter((line) => line.audit.type === type).map((line) => line.level);
  t.same(levelOf('token.issued'), [], 'a token issued: not logged at info');
  t.same(levelOf('client_authentication.failed'), [40], 'a failure: at warn');
  t.same(levelOf('admin.createUser'), [30], 'an admin change: at info');
});

t.test('LATCHKEY_AUDIT=off: no rows and no audit log lines', async (t) => {
  const off = await startAdmin(t, { env: { LATCHKEY_AUDIT: 'off' } });
  const ok = await tokenRequest(off.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['svc', SECRETS.svc] });
  t.equal(ok.status, 200);
  t.equal((await off.call('DELETE', '/v1/realms/acme/clients/nothing')).status, 401);
  const rows = await off.latchkey.services.database.db.selectFrom('audit_events').select('id').execute();
  t.same(rows, [], 'no rows');
  t.notOk(off.logs.some((line) => line.includes('"audit":')), 'no audit log lines');
  t.equal((await off.call('GET', '/v1/realms/default/audit-events', { token: off.tokens.readOnly })).json.items.length, 0, 'the endpoint answers, empty');
});
