/**
 * What importing a Keycloak realm export does, in one summary: printed by
 * `latchkey import` (with --dry-run too) and logged once when the server
 * applies LATCHKEY_CONFIG. Everything of the export is accounted for:
 * translated, skipped as Keycloak's own machinery, needing the operator's
 * attention, or not imported because Latchkey has no equivalent.
 */

export interface KeycloakRealmSummary {
  /** The realm's name in Keycloak and in Latchkey. */
  keycloak: string;
  realm: string;
  /** `access_token 300 s (accessTokenLifespan)`, … */
  lifetimes: string[];
  clients: string[];
  users: { total: number; keptHashes: number; plainPasswords: number; withoutPassword: number; disabled: number };
  roles: { realm: number; client: number; groups: number };
  /** Keycloak's own clients, roles and service-account users, left out on purpose. */
  skipped: string[];
  /** What the operator has to do something about: a client without its secret, a wildcard redirect URI, … */
  attention: string[];
  /** Features and settings Latchkey has no equivalent of. */
  notImported: string[];
  /** Where Latchkey behaves differently for what was imported. */
  notes: string[];
}

export interface KeycloakImportSummary {
  realms: KeycloakRealmSummary[];
}

/** The summary as lines for a person (the CLI prints them; the server logs them). */
export function describeKeycloakImport(summary: KeycloakImportSummary): string[] {
  const lines: string[] = [];
  for (const realm of summary.realms) {
    const { users, roles } = realm;
    lines.push(`Keycloak realm "${realm.keycloak}" → Latchkey realm ${realm.realm}`);
    if (realm.lifetimes.length) lines.push(`  lifetimes: ${realm.lifetimes.join('; ')}`);
    lines.push(`  clients: ${realm.clients.length}${realm.clients.length ? ` (${realm.clients.join(', ')})` : ''}`);
    const passwords = [
      users.keptHashes && `${users.keptHashes} keep their Keycloak password hash until their first sign-in (then argon2id)`,
      users.plainPasswords && `${users.plainPasswords} with a plain password, hashed now`,
      users.withoutPassword && `${users.withoutPassword} without a password`,
      users.disabled && `${users.disabled} disabled`,
    ].filter(Boolean);
    lines.push(`  users: ${users.total}${passwords.length ? ` — ${passwords.join(', ')}` : ''}`);
    if (roles.realm || roles.client || roles.groups) {
      lines.push(`  roles: ${roles.realm} realm, ${roles.client} client roles, ${roles.groups} groups — given to users as their effective roles (composites and groups expanded), groups as paths`);
    }
    section(lines, 'skipped (Keycloak\'s own)', realm.skipped);
    section(lines, 'needs your attention', realm.attention);
    section(lines, 'not imported (no equivalent in Latchkey)', realm.notImported);
    section(lines, 'how Latchkey differs', realm.notes);
  }
  return lines;
}

/** Whether anything calls for the operator: then the server logs the summary as a warning. */
export function needsAttention(summary: KeycloakImportSummary): boolean {
  return summary.realms.some((realm) => realm.attention.length > 0 || realm.notImported.length > 0);
}

function section(lines: string[], title: string, items: readonly string[]): void {
  if (items.length === 0) return;
  lines.push(`  ${title}:`);
  for (const item of items) lines.push(`    - ${item}`);
}
