import path from 'node:path';
import type { Logger } from 'pino';
import { AccountService } from './accounts/account-service.ts';
import { createPasswordHasher, type PasswordHasher } from './accounts/password-hasher.ts';
import { createSecretVerifier, type SecretVerifier } from './clients/client-secrets.ts';
import { ClientService } from './clients/client-service.ts';
import type { LatchkeyConfig } from './config/index.ts';
import { loadServerSecrets, type ServerSecrets } from './keys/server-secrets.ts';
import { openDatabase, type Database } from './store/database.ts';
import { migrateToLatest, migrationStatus } from './store/migrator.ts';

export interface Services {
  database: Database;
  hasher: PasswordHasher;
  secrets: ServerSecrets;
  secretVerifier: SecretVerifier;
  accounts: AccountService;
  clients: ClientService;
}

export class StartupError extends Error {
  override name = 'StartupError';
}

/**
 * Opens the database and builds the domain services that the server and the
 * CLI share. Migration policy: the embedded database is migrated on open (it
 * belongs to this process); a PostgreSQL server is migrated only by
 * `latchkey migrate`, and opening it with pending migrations is refused.
 */
export async function openServices(config: LatchkeyConfig, logger: Logger, { inMemory = false, role = 'server' } = {}): Promise<Services> {
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: inMemory ? undefined : path.join(config.dataDir, 'pglite'),
    poolMax: config.dbPoolMax,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    role,
    logger,
  });
  try {
    if (database.kind === 'pglite') {
      const applied = await migrateToLatest(database.db);
      if (applied.length) logger.info({ migrations: applied }, 'embedded database migrated');
    } else {
      const pending = (await migrationStatus(database.db)).filter((m) => !m.executedAt);
      if (pending.length) {
        throw new StartupError(`database has ${pending.length} pending migration(s) (${pending[0]!.name}…): run \`npx latchkey migrate latest\` first`);
      }
    }
    const secrets = await loadServerSecrets(config.keysDir, config.cookieKeys);
    const hasher = createPasswordHasher();
    return {
      database,
      hasher,
      secrets,
      secretVerifier: createSecretVerifier({ digestKey: secrets.digestKey, hasher }),
      accounts: new AccountService(database.db, hasher),
      clients: new ClientService(database.db, hasher, secrets.digestKey, { production: config.nodeEnv === 'production' }),
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}
