import { CliError, exitStatusOf, isDatabaseUnavailable, UsageError } from '../errors/index.ts';
import { debugging } from './command-context.ts';
import { isHelp, printable, write, type CliIo, type Command } from './command-line.ts';
import { clients, CLIENTS_USAGE } from './commands/clients.ts';
import { importFile, IMPORT_USAGE } from './commands/import.ts';
import { keys, KEYS_USAGE } from './commands/keys.ts';
import { migrate, MIGRATE_USAGE } from './commands/migrate.ts';
import { registrationTokens, REGISTRATION_TOKENS_USAGE } from './commands/registration-tokens.ts';
import { resourceServers, RESOURCE_SERVERS_USAGE } from './commands/resource-servers.ts';
import { serve, SERVE_USAGE } from './commands/serve.ts';
import { users, USERS_USAGE } from './commands/users.ts';

export const USAGE = `Usage: latchkey <command> [arguments]

Commands:
  serve                              start the server (same as npm start)
  migrate [latest|down|status]       schema migrations (default: latest)
  import FILE [--dry-run]            apply a declarative setup file (YAML or JSON)
  clients add|list|remove            manage OAuth clients
  resource-servers add|list|remove   APIs that access tokens are issued for (RFC 8707)
  registration-tokens issue|list|revoke  initial access tokens for client registration (RFC 7591)
  users add|list|passwd|remove       manage user accounts
  keys list|generate|rotate          signing keys and staged rotation

Run \`latchkey <command> --help\` for a command's options.

The CLI uses the same configuration as the server: DATABASE_URL (or the
embedded database under LATCHKEY_DATA_DIR), LATCHKEY_KEYS_DIR, LATCHKEY_CONFIG.
Exit status: 0 done, 1 failed, 2 wrong command line.`;

/** `group: true` commands show their own help for `latchkey <cmd> <sub> --help`. */
const COMMANDS: Record<string, { run: Command; usage: string; group: boolean }> = {
  serve: { run: serve, usage: SERVE_USAGE, group: false },
  migrate: { run: migrate, usage: MIGRATE_USAGE, group: true },
  import: { run: importFile, usage: IMPORT_USAGE, group: false },
  clients: { run: clients, usage: CLIENTS_USAGE, group: true },
  'resource-servers': { run: resourceServers, usage: RESOURCE_SERVERS_USAGE, group: true },
  'registration-tokens': { run: registrationTokens, usage: REGISTRATION_TOKENS_USAGE, group: true },
  users: { run: users, usage: USERS_USAGE, group: true },
  keys: { run: keys, usage: KEYS_USAGE, group: true },
};

/**
 * Runs one command line and returns the exit status; never exits the process
 * (src/cli/main.ts does). Every failure becomes one line on stderr,
 * `latchkey: <message>`, with the stack only under LOG_LEVEL=debug.
 */
export async function runCli(argv: string[], callerIo: CliIo): Promise<number> {
  // This run's own io: what a command learns about it (LOG_LEVEL=debug) stays with it.
  const io: CliIo = { ...callerIo };
  try {
    const [name, ...args] = argv;
    if (name === undefined) {
      write(io.stderr, USAGE);
      return 2;
    }
    if (name === '--help' || name === '-h' || name === 'help') {
      write(io.stdout, USAGE);
      return 0;
    }
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!command) {
      throw new UsageError(name.startsWith('-')
        ? `unknown option ${printable(name)} (see latchkey --help)`
        : `unknown command "${printable(name)}" (see latchkey --help)`);
    }
    if (!command.group && isHelp(args)) {
      write(io.stdout, command.usage);
      return 0;
    }
    return await command.run(args, io);
  } catch (error) {
    return report(error, io);
  }
}

function report(error: unknown, io: CliIo): number {
  const usage = error instanceof UsageError;
  const message = error instanceof Error ? error.message : String(error);
  const line = isDatabaseUnavailable(error) && !(error instanceof CliError)
    ? `database unavailable: ${message}`
    : message;
  write(io.stderr, `latchkey: ${oneLine(withoutCredentials(line))}`);
  if (debugging(io) && error instanceof Error && error.stack && !usage) write(io.stderr, withoutCredentials(error.stack));
  return exitStatusOf(error);
}

function oneLine(text: string): string {
  return text.split(/\r?\n/).map((part) => part.trim()).filter(Boolean).join('; ') || 'failed';
}

/** A connection string in a driver's message must not carry its password to the terminal. */
function withoutCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi, '$1:***@');
}
