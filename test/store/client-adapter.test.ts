import t from 'tap';
import { ClientAdapter } from '../../src/oidc/client-adapter.ts';
import { deleteClient, upsertClient } from '../../src/store/client.repository.ts';
import { openTestDb } from '../helpers/open-test-db.ts';

// The read-only Client adapter over the `clients` table, with its per-process cache.
const db = await openTestDb(t);
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
const metadata = (name: string) => ({
  client_name: name,
  redirect_uris: ['https://app.test/cb'],
  grant_types: ['authorization_code', 'refresh_token'],
  token_endpoint_auth_method: 'client_secret_basic',
});

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => { now += ms; } };
}

t.test('find returns the stored metadata with client_id and the secret hash as client_secret', async (t) => {
  await upsertClient(db, 'default', 'web1', metadata('Web One'), HASH);
  await upsertClient(db, 'default', 'spa1', { ...metadata('SPA'), token_endpoint_auth_method: 'none' }, null);
  const loaded: Record<string, unknown>[] = [];
  const adapter = new ClientAdapter(db, 'default', { onLoad: (m) => loaded.push(m) });

  const web1 = await adapter.find('web1');
  t.equal(web1?.client_id, 'web1');
  t.equal(web1?.client_secret, HASH, 'client_secret is the stored hash');
  t.equal(web1?.client_name, 'Web One');
  t.same(web1?.redirect_uris, ['https://app.test/cb']);
  t.equal(web1?.token_endpoint_auth_method, 'client_secret_basic');

  const spa1 = await adapter.find('spa1');
  t.equal(spa1?.client_id, 'spa1');
  t.notOk(spa1 && 'client_secret' in spa1, 'a public client has no client_secret at all');
  t.same(loaded.map((m) => m.client_id), ['web1', 'spa1'], 'onLoad sees each client as it is loaded');
});

t.test('clients are scoped by realm', async (t) => {
  await upsertClient(db, 'a', 'shared', metadata('In A'), HASH);
  await upsertClient(db, 'b', 'shared', metadata('In B'), null);
  t.equal((await new ClientAdapter(db, 'a').find('shared'))?.client_name, 'In A');
  t.equal((await new ClientAdapter(db, 'b').find('shared'))?.client_name, 'In B');
  t.equal(await new ClientAdapter(db, 'c').find('shared'), undefined);
});

t.test('the cache serves a stale value within the TTL and a fresh one after it', async (t) => {
  const clock = manualClock();
  const adapter = new ClientAdapter(db, 'default', { ttlMs: 5_000, now: clock.now });
  await upsertClient(db, 'default', 'cached', metadata('Version 1'), HASH);
  t.equal((await adapter.find('cached'))?.client_name, 'Version 1');

  await upsertClient(db, 'default', 'cached', metadata('Version 2'), HASH);
  clock.advance(4_999);
  t.equal((await adapter.find('cached'))?.client_name, 'Version 1', 'stale within the TTL');
  t.equal((await new ClientAdapter(db, 'default', { now: clock.now }).find('cached'))?.client_name, 'Version 2', 'the row itself is updated');
  clock.advance(1);
  t.equal((await adapter.find('cached'))?.client_name, 'Version 2', 'fresh once the TTL has passed');

  await deleteClient(db, 'default', 'cached');
  t.equal((await adapter.find('cached'))?.client_name, 'Version 2', 'a removal is also seen only after the TTL');
  clock.advance(5_000);
  t.equal(await adapter.find('cached'), undefined, 'removed client is gone after the TTL');
});

t.test('unknown ids are undefined, and remembered as unknown for the same bound as known ones', async (t) => {
  const clock = manualClock();
  const adapter = new ClientAdapter(db, 'default', { now: clock.now });
  t.equal(await adapter.find('nobody'), undefined);
  await upsertClient(db, 'default', 'nobody', metadata('Late'), null);
  // An unknown id answered from memory like a known one: no database lookup to time.
  t.equal(await adapter.find('nobody'), undefined, 'a client created after a miss is not seen before the TTL');
  clock.advance(5_000);
  t.equal((await adapter.find('nobody'))?.client_name, 'Late', 'and is found once it has passed');
  for (let i = 0; i < ClientAdapter.MAX_UNKNOWN + 10; i += 1) await adapter.find(`made-up-${i}`);
  t.ok(await adapter.find('nobody'), 'a flood of made-up ids does not push real clients out');
});

t.test('hostile ids find nothing and never throw', async (t) => {
  const adapter = new ClientAdapter(db, 'default');
  const hostile: [string, string][] = [
    ['empty', ''], ['10 KB', 'x'.repeat(10_240)], ['NUL', 'web1\0'], ['NUL alone', '\0'],
    ['lone surrogate', 'web1\ud800'], ['SQL', "web1' or '1'='1"], ['LIKE wildcard', 'web%'],
  ];
  for (const [name, id] of hostile) t.equal(await adapter.find(id), undefined, name);
  t.ok(await adapter.find('web1'), 'the real client is still served');
});

t.test('registration writes are refused where registration is off', async (t) => {
  const adapter = new ClientAdapter(db, 'default');
  await t.rejects(adapter.upsert('web1', { client_id: 'web1' }), { name: 'InvalidRequest', error: 'invalid_request' });
  await t.rejects(adapter.destroy('web1'), { name: 'InvalidRequest', error: 'invalid_request' });
  t.ok(await adapter.find('web1'), 'and nothing was removed');
});
