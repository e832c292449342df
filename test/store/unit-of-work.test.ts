import t from 'tap';
import { UnitOfWork } from '../../src/store/unit-of-work.ts';
import { openTestDb } from '../helpers/open-test-db.ts';

// A request's unit of work against requests outside it, on the one
// connection of the embedded database (and the pool of PostgreSQL): a unit
// that holds its transaction must be able to run its next query while
// another request waits for the connection. kysely's own mutex for PGlite
// once made that next query wait for the waiting request, which waited
// for the unit: both hung (found by two admin key rotations at once).
const db = await openTestDb(t);

t.test('a unit\'s query-builder reads go on while another request waits for the connection', async (t) => {
  const unit = db.unitOfWork();
  const outcome = await Promise.race([
    (async () => {
      await unit.run(async () => {
        await unit.transaction();
        await db.selectFrom('clients').select('client_id').execute();
        // Another request, outside the unit, asks for the connection now…
        const other = UnitOfWork.outside(() => db.selectFrom('users').select('id').execute());
        await new Promise((resolve) => setTimeout(resolve, 50));
        // …and the unit goes on with a query of its own before it commits.
        await db.selectFrom('clients').select('client_id').where('realm', '=', 'default').execute();
        await unit.commit();
        await other;
      });
      return 'finished';
    })(),
    new Promise<string>((resolve) => setTimeout(() => resolve('hung'), 5_000).unref()),
  ]);
  t.equal(outcome, 'finished');
});

// Db.atomically: a service's change of several statements is whole whoever
// calls it (the CLI has no request, hence no unit of its own).
const event = (id: string) => ({
  id, occurred_at: new Date(), realm: 'atomic', type: 'test.event', outcome: 'success' as const,
  actor: null, client_id: null, subject: null, address: null, request_id: null, details: '{}',
});
const stored = async () => (await db.selectFrom('audit_events').select('id').where('realm', '=', 'atomic').orderBy('id').execute()).map((row) => row.id);
const ids = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003'];

t.test('atomically, outside a unit: a failing second statement takes the first with it', async (t) => {
  await t.rejects(db.atomically(async () => {
    await db.insertInto('audit_events').values(event(ids[0]!)).execute();
    await db.insertInto('audit_events').values(event(ids[0]!)).execute(); // the same key: refused
  }));
  t.same(await stored(), [], 'nothing of it stored');
  await t.rejects(db.atomically(async () => {
    await db.insertInto('audit_events').values(event(ids[0]!)).execute();
    throw new Error('the work failed after writing');
  }), /the work failed/);
  t.same(await stored(), [], 'nothing of it stored');
});

t.test('atomically, outside a unit: both statements stored when the work succeeds', async (t) => {
  t.equal(await db.atomically(async () => {
    await db.insertInto('audit_events').values(event(ids[0]!)).execute();
    await db.insertInto('audit_events').values(event(ids[1]!)).execute();
    return 'done';
  }), 'done');
  t.same(await stored(), [ids[0], ids[1]]);
});

t.test('atomically inside a unit joins it: the unit\'s rollback undoes it', async (t) => {
  const unit = db.unitOfWork();
  await unit.run(async () => {
    await unit.transaction();
    await db.atomically(() => db.insertInto('audit_events').values(event(ids[2]!)).execute());
  });
  await unit.rollback();
  t.notOk((await stored()).includes(ids[2]!), 'rolled back with the unit');
});
