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
