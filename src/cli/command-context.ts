import { loadConfig, type LatchkeyConfig } from '../config/index.ts';
import { openDatabaseForMigrations, openServices, type Services } from '../latchkey.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import type { Database } from '../store/database.ts';
import type { CliIo } from './command-line.ts';

/**
 * What every database command needs: the configuration (read through the
 * config module, from the environment the CLI was given), a logger on stderr,
 * and the database or the services opened under the embedded database's lock.
 */
export interface CommandContext {
  config: LatchkeyConfig;
  logger: Logger;
}

/**
 * The runs whose configuration asked for LOG_LEVEL=debug (known once it is
 * loaded), so that their failure is reported with its stack. Per run, not per
 * process: one process may run several command lines, even at once (tests).
 */
const debugRuns = new WeakSet<CliIo>();

export function debugging(io: CliIo): boolean {
  return debugRuns.has(io);
}

export async function loadCommandContext(io: CliIo): Promise<CommandContext> {
  const config = await loadConfig({ env: io.env });
  if (config.logLevel === 'debug' || config.logLevel === 'trace') debugRuns.add(io);
  return { config, logger: createLogger(cliLogLevel(config.logLevel), io.stderr) };
}

/**
 * The CLI talks to people: below `warn` the services' routine messages would
 * drown its output. A level set to something other than the server's default
 * (`info`) is honoured.
 */
function cliLogLevel(level: string): string {
  return level === 'info' ? 'warn' : level;
}

/**
 * Opens the services through the composition root (the embedded database is
 * migrated on open, a server must be migrated). Opening the embedded
 * database takes its lock, so a command is refused while a server or
 * another command has it open.
 */
export async function withServices<T>(context: CommandContext, role: string, work: (services: Services) => Promise<T>): Promise<T> {
  const services = await openServices(context.config, context.logger, { role });
  try {
    return await work(services);
  } finally {
    await services.close();
  }
}

/** Opens the bare database, whatever its schema version (for `migrate`). */
export async function withDatabase<T>(context: CommandContext, role: string, work: (database: Database) => Promise<T>): Promise<T> {
  const database = await openDatabaseForMigrations(context.config, context.logger, { role });
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}
