import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { runCli } from '../../src/cli/run-cli.ts';
import { assembleLatchkey } from '../../src/latchkey.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { Services } from '../../src/latchkey.ts';
import type { DeclarativeSetup } from '../../src/config/index.ts';
import { freePort, startLatchkey, testConfig } from '../helpers/latchkey-under-test.ts';
import { EMPTY_SETUP } from '../helpers/setups.ts';
import { seedEmbeddedDataDir } from '../helpers/embedded-images.ts';
import { createTestDatabase } from '../helpers/test-database.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  /** The exit status; null when the run was still going at its deadline. */
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface CliSandbox {
  dir: string;
  dataDir: string;
  keysDir: string;
  configFile: string;
  /** A fresh server database, or undefined for the embedded one. */
  databaseUrl: string | undefined;
  env: Record<string, string>;
  /**
   * Runs the CLI in this process (runCli, as src/cli/main.ts calls it) with
   * the sandbox's environment: what a command does and prints, and its exit
   * status, without the cost of starting Node for every command line.
   */
  run(args: string[], options?: RunOptions): Promise<CliResult>;
  /**
   * Runs `bin/latchkey.js` as a real process with the sandbox's environment,
   * for what only a process shows: the exit code the shell sees, a stdin
   * that is a pipe, a lock held by another process.
   */
  spawn(args: string[], options?: RunOptions): Promise<CliResult>;
}

export interface RunOptions {
  /** Written to the CLI's stdin, which is then closed (it is never a TTY here). */
  stdin?: string;
  env?: Record<string, string | undefined>;
  /** After this long the run is given up and `status` is null (a process is killed). */
  deadlineMs?: number;
}

export { EMPTY_SETUP };

/**
 * A temporary data, keys and config directory for the CLI; the database is
 * the embedded one, or a fresh database on the server named by DATABASE_URL
 * (which, unlike the embedded one, needs `latchkey migrate latest` first).
 * The embedded one starts as a copy of a freshly initialised database
 * (test/helpers/embedded-images.ts) unless `freshDataDir` leaves the data
 * directory empty for the first command to initialise, as on a new install.
 */
export async function cliSandbox(t: Test, { embedded = false, freshDataDir = false } = {}): Promise<CliSandbox> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-cli-'));
  const database = embedded ? { databaseUrl: undefined, drop: async () => {} } : await createTestDatabase();
  t.teardown(async () => {
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  });
  const configFile = path.join(dir, 'latchkey.yaml');
  await writeFile(configFile, 'realms: []\n');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    NODE_ENV: 'test',
    LATCHKEY_DATA_DIR: path.join(dir, 'data'),
    LATCHKEY_KEYS_DIR: path.join(dir, 'keys'),
    LATCHKEY_CONFIG: configFile,
    // A server started in the sandbox must not take the default admin port another test's server may hold.
    LATCHKEY_ADMIN_PORT: 'off',
    ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
  };
  if (!database.databaseUrl && !freshDataDir) await seedEmbeddedDataDir(env.LATCHKEY_DATA_DIR!);
  return {
    dir,
    dataDir: env.LATCHKEY_DATA_DIR!,
    keysDir: env.LATCHKEY_KEYS_DIR!,
    configFile,
    databaseUrl: database.databaseUrl,
    env,
    run: (args, options = {}) => runLatchkey(args, { ...options, env: { ...env, ...options.env } }),
    spawn: (args, options = {}) => spawnLatchkey(args, { ...options, env: { ...env, ...options.env } }),
  };
}

/** The variables that are set: `undefined` in an override unsets one. */
function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** A stream that keeps what is written to it, as the terminal would show it. */
class Captured extends Writable {
  #chunks: Buffer[] = [];

  override _write(chunk: Buffer | string, encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.#chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk);
    done();
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}

/**
 * One CLI run in this process: runCli with its own captured stdout and
 * stderr, a stdin stream that yields `stdin` and ends, and exactly the given
 * environment (the CLI reads no other: the config module gets `io.env`).
 */
export async function runLatchkey(args: string[], { stdin = '', env = {}, deadlineMs = 90_000 }: RunOptions = {}): Promise<CliResult> {
  const stdout = new Captured();
  const stderr = new Captured();
  const input = new PassThrough();
  input.end(stdin);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), deadlineMs); });
  try {
    const status = await Promise.race([runCli(args, { stdout, stderr, stdin: input, env: definedOnly(env) }), deadline]);
    return { status, stdout: stdout.text(), stderr: stderr.text() };
  } finally {
    clearTimeout(timer);
  }
}

/** `bin/latchkey.js` as a real process, with exactly the given environment. */
export function spawnLatchkey(args: string[], { stdin = '', env = {}, deadlineMs = 90_000 }: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/latchkey.js', ...args], { cwd: ROOT, env: definedOnly(env), stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    const deadline = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(deadline);
      resolve({ status, stdout, stderr });
    });
    child.stdin.on('error', () => { /* the CLI may exit before reading stdin */ });
    child.stdin.end(stdin);
  });
}

export interface SandboxServer {
  issuer: string;
  services: Services;
  close(): Promise<void>;
}

/**
 * A real server on the sandbox's database and keys (so it shares the digest
 * key of generated client secrets), applying `setup` at start as
 * LATCHKEY_CONFIG would. The embedded database belongs to one
 * process at a time: close the server before the next CLI run on it.
 */
export async function startServerOn(t: Test, sandbox: CliSandbox, setup: DeclarativeSetup = EMPTY_SETUP): Promise<SandboxServer> {
  if (sandbox.databaseUrl) {
    const running = await startLatchkey(t, { databaseUrl: sandbox.databaseUrl, keysDir: sandbox.keysDir, setup, logLevel: 'silent' });
    return { issuer: running.issuer, services: running.latchkey.services, close: () => running.latchkey.close() };
  }
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const config = testConfig({ issuer, port, keysDir: sandbox.keysDir, dataDir: sandbox.dataDir, setup });
  const latchkey = await assembleLatchkey(config, createLogger('silent'));
  await latchkey.app.listen({ port, host: '127.0.0.1' });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await latchkey.close();
  };
  t.teardown(close);
  return { issuer, services: latchkey.services, close };
}

/** `latchkey: <message>` on one line, nothing else (no stack trace). */
export function assertOneLineError(t: Test, result: CliResult, pattern: RegExp): void {
  const lines = result.stderr.split('\n').filter(Boolean);
  t.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(result.stderr)}`);
  t.match(lines[0] ?? '', /^latchkey: /, 'prefixed with latchkey:');
  t.match(lines[0] ?? '', pattern, 'names the problem');
  t.notMatch(result.stderr, /^\s+at /m, 'no stack trace');
}

/**
 * Migrates a server database (the embedded one is migrated when opened).
 * Throws rather than asserts: it runs at a test file's top level, where an
 * assertion followed by more awaiting lets tap end the file early.
 */
export async function migrateSandbox(sandbox: CliSandbox): Promise<void> {
  if (!sandbox.databaseUrl) return;
  const result = await sandbox.run(['migrate', 'latest']);
  if (result.status !== 0) throw new Error(`latchkey migrate latest failed (${result.status}): ${result.stderr}`);
}
