import type { AuditEventTable } from './audit-event.table.ts';
import type { ClientTable } from './client.table.ts';
import type { InitialAccessTokenTable } from './initial-access-token.table.ts';
import type { OidcPayloadTable } from './oidc-payload.table.ts';
import type { ResourceServerTable } from './resource-server.table.ts';
import type { UserTable } from './user.table.ts';

export interface DatabaseSchema {
  oidc_payloads: OidcPayloadTable;
  clients: ClientTable;
  users: UserTable;
  resource_servers: ResourceServerTable;
  initial_access_tokens: InitialAccessTokenTable;
  audit_events: AuditEventTable;
}
