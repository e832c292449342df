import type { AccountService } from '../accounts/account-service.ts';
import type { ClientService, PutOutcome } from '../clients/client-service.ts';
import type { DeclarativeSetup } from '../config/index.ts';
import type { ResourceServerPutOutcome, ResourceServerService } from '../resource-servers/resource-server-service.ts';

export interface SetupReport {
  realm: string;
  resource_servers: Record<ResourceServerPutOutcome, number>;
  clients: Record<PutOutcome, number>;
  users: { created: number; updated: number };
}

/**
 * Applies the declarative setup (config file or `latchkey import`).
 * Idempotent: applying the same file twice changes nothing the second time.
 * Clients and users absent from the file are left alone — they may have been
 * added with the CLI — as Keycloak's realm import does.
 */
export async function applySetup(
  setup: DeclarativeSetup,
  services: { clients: ClientService; accounts: AccountService; resourceServers: ResourceServerService },
): Promise<SetupReport[]> {
  const reports: SetupReport[] = [];
  for (const realm of setup.realms) {
    const report: SetupReport = {
      realm: realm.name,
      resource_servers: { created: 0, updated: 0, unchanged: 0 },
      clients: { created: 0, updated: 0, unchanged: 0 },
      users: { created: 0, updated: 0 },
    };
    // Before the clients, whose default_resource names one of them.
    for (const server of realm.resource_servers) {
      report.resource_servers[await services.resourceServers.put(realm.name, { ...server })] += 1;
    }
    for (const client of realm.clients) {
      report.clients[await services.clients.put(realm.name, { ...client })] += 1;
    }
    for (const user of realm.users) {
      const { username, password, email, email_verified: emailVerified, disabled, claims, roles, groups, ...profile } = user;
      const declared = {
        username,
        password,
        email: email ?? null,
        email_verified: emailVerified ?? false,
        disabled: disabled ?? false,
        claims: { ...profile, ...claims },
        // Checked by the role rules when the file was read (src/config/declarative-setup.ts).
        roles: (roles ?? []) as string[],
        groups: (groups ?? []) as string[],
      };
      const existing = await services.accounts.findByUsername(realm.name, username);
      if (existing) {
        await services.accounts.reconcile(realm.name, existing, declared);
        report.users.updated += 1;
      } else {
        await services.accounts.create(realm.name, declared);
        report.users.created += 1;
      }
    }
    reports.push(report);
  }
  return reports;
}
