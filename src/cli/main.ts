import { runCli } from './run-cli.ts';

/**
 * `npx latchkey …` (through bin/latchkey.js) and `npm run latchkey -- …`:
 * the CLI's only process.exit. The environment is handed to the config
 * module, which alone reads it.
 */
const status = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
process.exit(status);
