import { UsageError } from '../../errors/index.ts';
import { startLatchkey, type StartedLatchkey, type StartOptions } from '../../library.ts';
import { serve as startServer } from '../../main.ts';
import { parseCommandLine, write, type CliIo } from '../command-line.ts';

export const SERVE_USAGE = `Usage: latchkey serve [--config FILE] [--port N] [--host ADDRESS] [--admin-port N]

Without --config: starts the server exactly as \`npm start\` does (configuration
from the environment: PORT, DATABASE_URL, LATCHKEY_CONFIG, …; the embedded
database kept under LATCHKEY_DATA_DIR).

With --config: a server for a test run or a CI job, from the setup in FILE
(YAML or JSON, \${VAR} read from the environment). Its database is kept in
memory and its keys in a temporary folder, both gone when it stops, unless
DATABASE_URL, LATCHKEY_DATA_DIR or LATCHKEY_KEYS_DIR say where. It prints
each realm's issuer once it listens. Other settings come from the
environment as for \`npm start\`.

Options:
  --config FILE     the realms, clients and users to serve
  --port N          the port to listen on (default: PORT, else 3000)
  --host ADDRESS    the address to listen on (default: HOST, else 127.0.0.1)
  --admin-port N    with --config: the admin API on this port (default: off)

Stops on SIGINT or SIGTERM.`;

const OPTIONS = {
  config: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  'admin-port': { type: 'string' },
} as const;

/**
 * Resolves only if the server could not start; once it listens, the
 * signal handlers end the process (src/main.ts's, or `stopOnSignal` below).
 */
export async function serve(args: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine(args, OPTIONS, { command: 'latchkey serve', positionals: [] });
  const port = values.port === undefined ? undefined : portNumber('--port', values.port);
  const adminPort = values['admin-port'] === undefined ? undefined : portNumber('--admin-port', values['admin-port']);
  if (values.config === undefined) {
    if (adminPort !== undefined) throw new UsageError('--admin-port goes with --config (the server of `npm start` reads LATCHKEY_ADMIN_PORT)');
    // The server of `npm start`, its environment as given but for PORT and HOST.
    await startServer({
      ...io.env,
      ...(port === undefined ? {} : { PORT: String(port) }),
      ...(values.host === undefined ? {} : { HOST: values.host }),
    });
    return new Promise<number>(() => {});
  }

  const { env } = io;
  const started = await startLatchkey({
    setup: values.config,
    port: port ?? Number(env['PORT'] ?? 3000),
    host: values.host ?? env['HOST'] ?? '127.0.0.1',
    databaseUrl: env['DATABASE_URL'] || undefined,
    dataDir: env['LATCHKEY_DATA_DIR'] || undefined,
    keysDir: env['LATCHKEY_KEYS_DIR'] || undefined,
    admin: adminPort ?? false,
    logLevel: env['LOG_LEVEL'] as StartOptions['logLevel'],
    env: definedOnly(env),
  });
  write(io.stdout, readyMessage(started, env));
  stopOnSignal(started, io);
  return new Promise<number>(() => {});
}

function readyMessage(started: StartedLatchkey, env: Record<string, string | undefined>): string {
  const realms = Object.values(started.realms);
  const database = env['DATABASE_URL'] ? 'PostgreSQL' : env['LATCHKEY_DATA_DIR'] ? `embedded database in ${env['LATCHKEY_DATA_DIR']}` : 'in-memory database: gone when it stops';
  return [
    `Latchkey is running (${database})`,
    ...realms.map((realm) => `  issuer     ${realm.issuer}${realms.length > 1 ? `  (realm ${realm.name})` : ''}`),
    `  discovery  ${started.discoveryUrl}`,
    ...(started.adminUrl ? [`  admin API  ${started.adminUrl}`] : []),
  ].join('\n');
}

function stopOnSignal(started: StartedLatchkey, io: CliIo): void {
  const stop = (signal: NodeJS.Signals) => {
    // A second signal while stopping ends the process at once.
    process.once(signal, () => process.exit(1));
    started.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        write(io.stderr, `latchkey: error while stopping: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function portNumber(option: string, value: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(port >= 1 && port <= 65_535)) throw new UsageError(`${option} must be a port number from 1 to 65535`);
  return port;
}

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
