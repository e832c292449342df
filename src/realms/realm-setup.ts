import type { AccountService } from '../accounts/account-service.ts';
import type { AccountOutcomes, DeclaredAccount } from '../accounts/declared-accounts.ts';
import { isArgon2idHash } from '../accounts/password-hasher.ts';
import type { ClientService, PutOutcome } from '../clients/client-service.ts';
import type { DeclarativeSetup, UserDeclaration } from '../config/index.ts';
import type { ResourceServerPutOutcome, ResourceServerService } from '../resource-servers/resource-server-service.ts';
import { StartupError } from '../errors/index.ts';
import type { Database } from '../store/database.ts';
import { tryHoldSetupLock } from '../store/setup-lock.ts';

export interface SetupReport {
  realm: string;
  resource_servers: Record<ResourceServerPutOutcome, number>;
  clients: Record<PutOutcome, number>;
  users: AccountOutcomes;
}

/** How long to wait for another process applying a setup (a replica starting at the same time), and how often to look. */
const LOCK_WAIT_MS = 10 * 60_000;
const LOCK_RETRY_MS = 200;

/** Where an import is, for a progress line: accounts of a realm judged and written so far. */
export type SetupProgress = (step: { realm: string; done: number; total: number }) => void;

/**
 * Applies the declarative setup (config file or `latchkey import`).
 * Idempotent: applying the same file twice changes nothing the second time.
 * Clients and users absent from the file are left alone — they may have been
 * added with the CLI — as Keycloak's realm import does.
 *
 * All of it is one transaction (the database's unit of work, begun at
 * once): a failure anywhere — a refused definition, a database fault —
 * leaves nothing of the file applied. Processes applying a setup at the same
 * time (replicas starting together) take turns (src/store/setup-lock.ts).
 */
export async function applySetup(
  setup: DeclarativeSetup,
  services: { database: Database; clients: ClientService; accounts: AccountService; resourceServers: ResourceServerService },
  progress?: SetupProgress,
): Promise<SetupReport[]> {
  if (setup.realms.length === 0) return [];
  const unit = services.database.unitOfWork();
  let reports: SetupReport[];
  try {
    reports = await unit.run(async () => {
      // Reads included: the import sees the database as its own writes leave it.
      await unit.transaction();
      await holdSetupLock(services.database);
      const applied: SetupReport[] = [];
      for (const realm of setup.realms) applied.push(await applyRealm(realm, services, progress));
      return applied;
    });
  } catch (error) {
    await unit.rollback();
    throw error;
  }
  await unit.commit();
  return reports;
}

async function holdSetupLock(database: Database): Promise<void> {
  const until = Date.now() + LOCK_WAIT_MS;
  while (!(await tryHoldSetupLock(database.db))) {
    if (Date.now() > until) throw new StartupError(`another process has been applying a setup for ${LOCK_WAIT_MS / 60_000} minutes; nothing was applied`);
    await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
  }
}

async function applyRealm(
  realm: DeclarativeSetup['realms'][number],
  services: { clients: ClientService; accounts: AccountService; resourceServers: ResourceServerService },
  progress: SetupProgress | undefined,
): Promise<SetupReport> {
  const report: SetupReport = {
    realm: realm.name,
    resource_servers: { created: 0, updated: 0, unchanged: 0 },
    clients: { created: 0, updated: 0, unchanged: 0 },
    users: { created: 0, updated: 0, unchanged: 0, withoutPassword: 0 },
  };
  // Before the clients, whose default_resource names one of them.
  for (const server of realm.resource_servers) {
    report.resource_servers[await services.resourceServers.put(realm.name, { ...server })] += 1;
  }
  for (const client of realm.clients) {
    report.clients[await services.clients.put(realm.name, { ...client })] += 1;
  }
  report.users = await services.accounts.applyDeclared(
    realm.name,
    realm.users.map(declaredAccount),
    progress && ((done, total) => progress({ realm: realm.name, done, total })),
  );
  return report;
}

function declaredAccount(user: UserDeclaration): DeclaredAccount {
  const { username, password, password_hash: passwordHash, email, email_verified: emailVerified, disabled, claims, roles, groups, ...profile } = user;
  return {
    username,
    // A hash written as `password` (the older form) is a declared hash too.
    password: passwordHash !== undefined ? { hash: passwordHash }
      : password === undefined ? undefined
        : isArgon2idHash(password) ? { hash: password } : { plain: password },
    email: email ?? null,
    email_verified: emailVerified ?? false,
    disabled: disabled ?? false,
    claims: { ...profile, ...claims },
    // Checked by the role rules when the file was read (src/config/declarative-setup.ts).
    roles: (roles ?? []) as string[],
    groups: (groups ?? []) as string[],
  };
}
