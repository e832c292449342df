import { serve as startServer } from '../../main.ts';
import { parseCommandLine, type CliIo } from '../command-line.ts';

export const SERVE_USAGE = `Usage: latchkey serve

Starts the server, exactly as \`npm start\` does: configuration from the
environment (PORT, DATABASE_URL, LATCHKEY_CONFIG, …), the declarative setup
applied at start. Stops on SIGINT or SIGTERM.`;

/**
 * Resolves only if the server could not start; once it listens, the server's
 * own signal handlers (src/main.ts) end the process.
 */
export async function serve(args: string[], _io: CliIo): Promise<number> {
  parseCommandLine(args, {}, { command: 'latchkey serve', positionals: [] });
  await startServer();
  return new Promise<number>(() => {});
}
