import { sql } from 'kysely';
import type { Db } from './database.ts';

/**
 * The advisory lock that makes processes applying a setup take turns —
 * replicas starting together with the same LATCHKEY_CONFIG, or an import run
 * while a server starts. Held by the setup's transaction until it ends, so
 * the next one reads what the first committed and finds it unchanged instead
 * of inserting the same users a second time. One number for all realms:
 * applying a setup is rare and short.
 */
const SETUP_LOCK = 7_438_197_001n;

/** Takes the lock for the current transaction if nobody holds it; never waits (a wait would outlast the statement timeout). */
export async function tryHoldSetupLock(db: Db): Promise<boolean> {
  const { rows } = await sql<{ held: boolean }>`select pg_try_advisory_xact_lock(${SETUP_LOCK}) as held`.execute(db);
  return rows[0]?.held === true;
}
