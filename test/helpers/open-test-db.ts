import type { Test } from 'tap';
import { createLogger } from '../../src/log/logger.ts';
import { openDatabase, type Db } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrator.ts';
import { emptyImage } from './embedded-images.ts';
import { createTestDatabase } from './test-database.ts';

/**
 * A migrated database of its own for one test file: in-memory PGlite by
 * default, a fresh PostgreSQL database when DATABASE_URL is set. Closed and
 * dropped when `t` ends.
 */
export async function openTestDb(t: Test): Promise<Db> {
  const target = await createTestDatabase();
  const database = await openDatabase({
    databaseUrl: target.databaseUrl,
    dataDir: undefined,
    embeddedImage: target.databaseUrl ? undefined : await emptyImage(),
    logger: createLogger('silent'),
  });
  t.teardown(async () => {
    await database.close();
    await target.drop();
  });
  await migrateToLatest(database.db);
  return database.db;
}
