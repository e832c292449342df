import path from 'node:path';
import { describeKeycloakImport, loadDeclarativeFile, type DeclarativeSetup } from '../../config/index.ts';
import { applySetup, type SetupReport } from '../../realms/realm-setup.ts';
import { loadCommandContext, withServices, type CommandContext } from '../command-context.ts';
import { parseCommandLine, requirePositional, write, type CliIo } from '../command-line.ts';
import { terminalProgress } from '../import-progress.ts';

export const IMPORT_USAGE = `Usage: latchkey import FILE [--dry-run]

Applies a declarative setup file (YAML or JSON: realms, clients, users, with
\${ENV} placeholders), as the server does with LATCHKEY_CONFIG at start; or a
Keycloak realm export (kc.sh export, or the admin console's partial export),
translated into one, with a summary of what was translated, skipped and not
supported. Idempotent: importing the same file twice changes nothing. Clients
and users that are not in the file are left alone. All or nothing: a failure
leaves nothing of the file applied.

  --dry-run   validate the file (and show the Keycloak summary); change nothing`;

export async function importFile(args: string[], io: CliIo): Promise<number> {
  const command = 'latchkey import';
  const parsed = parseCommandLine(args, { 'dry-run': { type: 'boolean' } }, { command, positionals: ['FILE'] });
  const file = path.resolve(requirePositional(parsed, 0, 'FILE', command));
  const context = await loadCommandContext(io);
  const setup: DeclarativeSetup = await loadDeclarativeFile(file, {
    env: io.env,
    nodeEnv: context.config.nodeEnv,
    keycloakPathPrefix: context.config.keycloakPathPrefix,
  });
  if (setup.keycloak) write(io.stdout, describeKeycloakImport(setup.keycloak).join('\n'));

  if (parsed.values['dry-run']) {
    const counts = setup.realms.map((realm) => `${realm.name} (${realm.clients.length} client(s), ${realm.users.length} user(s))`);
    write(io.stdout, `${file} is valid: ${counts.join(', ') || 'no realms'}. Nothing changed (--dry-run).`);
    notServed(setup, context, io);
    return 0;
  }

  const progress = terminalProgress(io.stderr);
  let reports: SetupReport[];
  try {
    reports = await withServices(context, command, (services) => applySetup(setup, services, progress.report));
  } finally {
    progress.done();
  }
  for (const { realm, clients, users } of reports) {
    const withoutPassword = users.withoutPassword ? ` (${users.withoutPassword} created without a password)` : '';
    write(io.stdout, `realm ${realm}: clients ${clients.created} created, ${clients.updated} updated, ${clients.unchanged} unchanged; users ${users.created} created, ${users.updated} updated, ${users.unchanged} unchanged${withoutPassword}`);
  }
  if (reports.length === 0) write(io.stdout, `${file} declares no realm: nothing to apply.`);
  notServed(setup, context, io);
  return 0;
}

/**
 * Realms are served as LATCHKEY_CONFIG declares them (their lifetimes and
 * branding live there, not in the database): an imported realm it does not
 * declare holds clients and users that no server answers for yet.
 */
function notServed(setup: DeclarativeSetup, context: CommandContext, io: CliIo): void {
  const declared = new Set(context.config.setup.realms.map((realm) => realm.name));
  for (const realm of setup.realms) {
    if (realm.name === 'default' || declared.has(realm.name)) continue;
    write(io.stdout, `note: realm ${realm.name} is not in LATCHKEY_CONFIG (${context.config.configFile}), so the server does not serve it yet: point LATCHKEY_CONFIG at this file, or declare the realm there${realm.ttl ? ' with the lifetimes above' : ''}.`);
  }
}
