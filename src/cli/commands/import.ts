import path from 'node:path';
import { loadDeclarativeFile, type DeclarativeSetup } from '../../config/index.ts';
import { applySetup } from '../../realms/realm-setup.ts';
import { loadCommandContext, withServices } from '../command-context.ts';
import { parseCommandLine, requirePositional, write, type CliIo } from '../command-line.ts';

export const IMPORT_USAGE = `Usage: latchkey import FILE [--dry-run]

Applies a declarative setup file (YAML or JSON: realms, clients, users, with
\${ENV} placeholders), as the server does with LATCHKEY_CONFIG at start.
Idempotent: importing the same file twice changes nothing. Clients and users
that are not in the file are left alone.

  --dry-run   validate the file only; change nothing`;

export async function importFile(args: string[], io: CliIo): Promise<number> {
  const command = 'latchkey import';
  const parsed = parseCommandLine(args, { 'dry-run': { type: 'boolean' } }, { command, positionals: ['FILE'] });
  const file = path.resolve(requirePositional(parsed, 0, 'FILE', command));
  const context = await loadCommandContext(io);
  const setup: DeclarativeSetup = await loadDeclarativeFile(file, {
    env: io.env,
    nodeEnv: context.config.nodeEnv,
  });

  if (parsed.values['dry-run']) {
    const counts = setup.realms.map((realm) => `${realm.name} (${realm.clients.length} client(s), ${realm.users.length} user(s))`);
    write(io.stdout, `${file} is valid: ${counts.join(', ') || 'no realms'}. Nothing changed (--dry-run).`);
    return 0;
  }

  const reports = await withServices(context, command, (services) => applySetup(setup, services));
  for (const { realm, clients, users } of reports) {
    write(io.stdout, `realm ${realm}: clients ${clients.created} created, ${clients.updated} updated, ${clients.unchanged} unchanged; users ${users.created} created, ${users.updated} updated`);
  }
  if (reports.length === 0) write(io.stdout, `${file} declares no realm: nothing to apply.`);
  return 0;
}
