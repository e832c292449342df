import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { createLogger } from '../../src/log/logger.ts';
import { startSweeper } from '../../src/oidc/expired-payload-sweeper.ts';
import { PayloadAdapter } from '../../src/oidc/payload-adapter.ts';
import { sweepExpiredPayloads } from '../../src/store/oidc-payload.repository.ts';
import { openTestDb } from '../helpers/open-test-db.ts';
import { waitFor } from '../helpers/waiting.ts';

// Expired oidc rows are deleted in the background; live rows never are.
const db = await openTestDb(t);
const unique = (label: string) => `${label}-${randomBytes(12).toString('base64url')}`;

async function countRows(): Promise<number> {
  const row = await db.selectFrom('oidc_payloads').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Writes `expired` rows with expiresIn=1 through an adapter whose clock is a
 * minute behind (so they expired long ago by the database's now(), which the
 * sweeper goes by) and `live` rows that never expire; returns the live ids.
 */
async function seed(expired: number, live: number): Promise<{ model: string; id: string; realm: string }[]> {
  const models = ['AccessToken', 'RefreshToken', 'Session', 'Interaction', 'AuthorizationCode'];
  const aMinuteAgo = () => Date.now() - 60_000;
  for (let i = 0; i < expired; i += 1) {
    const id = unique('expired');
    await new PayloadAdapter(db, 'default', models[i % models.length]!, { now: aMinuteAgo }).upsert(id, { jti: id, grantId: 'g' }, 1);
  }
  const liveRows: { model: string; id: string; realm: string }[] = [];
  for (let i = 0; i < live; i += 1) {
    const model = models[i % models.length]!;
    const id = unique('live');
    await new PayloadAdapter(db, i % 2 ? 'other-realm' : 'default', model).upsert(id, { jti: id }, i % 2 ? 0 : 3600);
    liveRows.push({ model, id, realm: i % 2 ? 'other-realm' : 'default' });
  }
  return liveRows;
}

async function stillFound(rows: { model: string; id: string; realm: string }[]): Promise<boolean[]> {
  return Promise.all(rows.map(({ model, id, realm }) => new PayloadAdapter(db, realm, model).find(id).then(Boolean)));
}

t.test('sweepExpiredPayloads deletes exactly the expired rows', async (t) => {
  const live = await seed(3, 2);
  t.equal(await countRows(), 5);
  t.equal(await sweepExpiredPayloads(db, 1000), 3, 'three expired rows deleted');
  t.equal(await countRows(), 2, 'two rows left');
  t.same(await stillFound(live), [true, true], 'the live rows are still found');
  t.equal(await sweepExpiredPayloads(db, 1000), 0, 'nothing more to sweep');
});

t.test('sweepExpiredPayloads honours its batch limit', async (t) => {
  await seed(3, 0);
  const before = await countRows();
  t.equal(await sweepExpiredPayloads(db, 2), 2, 'at most `limit` rows per call');
  t.equal(await countRows(), before - 2);
  t.equal(await sweepExpiredPayloads(db, 2), 1, 'the rest on the next call');
});

t.test('startSweeper deletes expired rows in the background and stops cleanly', async (t) => {
  const live = await seed(4, 2);
  const before = await countRows();
  // A tenth of a second between runs (the server's interval comes from
  // LATCHKEY_SWEEP_INTERVAL_SECONDS, at least 1): the same sweeper, ticking faster.
  const intervalSeconds = 0.1;
  const sweeper = startSweeper(db, createLogger('silent'), intervalSeconds);
  const remaining = await waitFor(async () => {
    const rows = await countRows();
    return rows === before - 4 ? rows : undefined;
  }, { timeoutMs: 10_000 });
  t.equal(remaining, before - 4, 'the four expired rows were swept within ten seconds');
  t.same(await stillFound(live), [true, true], 'live rows survive the sweeper');
  await t.resolves(sweeper.stop(), 'stop() resolves');

  // After stop, nothing sweeps any more: ten intervals pass without a sweep.
  await seed(1, 0);
  const afterStop = await countRows();
  await sleep(10 * intervalSeconds * 1000);
  t.equal(await countRows(), afterStop, 'a stopped sweeper deletes nothing');
});
