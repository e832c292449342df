import { migrateDown, migrateToLatest, migrationStatus } from '../../store/migrator.ts';
import { loadCommandContext, withDatabase } from '../command-context.ts';
import { dispatch, parseCommandLine, write, type CliIo } from '../command-line.ts';

export const MIGRATE_USAGE = `Usage: latchkey migrate [latest|down|status]

Schema migrations of the database named by DATABASE_URL, or of the embedded
database under LATCHKEY_DATA_DIR.

  latest   apply every pending migration (the default)
  down     revert the most recent migration
  status   list each migration with the time it ran, or "pending"`;

function usageOf(name: string, what: string): string {
  return `Usage: latchkey migrate ${name}\n\n${what}`;
}

async function latest(args: string[], io: CliIo): Promise<number> {
  parseCommandLine(args, {}, { command: 'latchkey migrate latest', positionals: [] });
  const context = await loadCommandContext(io);
  const applied = await withDatabase(context, 'latchkey migrate latest', (database) => migrateToLatest(database.db));
  if (applied.length === 0) write(io.stdout, 'The database is up to date: no pending migration.');
  for (const name of applied) write(io.stdout, `applied   ${name}`);
  return 0;
}

async function down(args: string[], io: CliIo): Promise<number> {
  parseCommandLine(args, {}, { command: 'latchkey migrate down', positionals: [] });
  const context = await loadCommandContext(io);
  const reverted = await withDatabase(context, 'latchkey migrate down', (database) => migrateDown(database.db));
  if (reverted.length === 0) write(io.stdout, 'Nothing to revert: no migration has run.');
  for (const name of reverted) write(io.stdout, `reverted  ${name}`);
  return 0;
}

async function status(args: string[], io: CliIo): Promise<number> {
  parseCommandLine(args, {}, { command: 'latchkey migrate status', positionals: [] });
  const context = await loadCommandContext(io);
  const migrations = await withDatabase(context, 'latchkey migrate status', (database) => migrationStatus(database.db));
  const width = Math.max(0, ...migrations.map((m) => m.name.length));
  for (const migration of migrations) {
    write(io.stdout, `${migration.name.padEnd(width)}  ${migration.executedAt ? migration.executedAt.toISOString() : 'pending'}`);
  }
  return 0;
}

export function migrate(args: string[], io: CliIo): Promise<number> {
  return dispatch('migrate', MIGRATE_USAGE, {
    latest: { run: latest, usage: usageOf('latest', 'Applies every pending migration.') },
    down: { run: down, usage: usageOf('down', 'Reverts the most recent migration.') },
    status: { run: status, usage: usageOf('status', 'Lists each migration with the time it ran, or "pending".') },
  }, args, io, 'latest');
}
