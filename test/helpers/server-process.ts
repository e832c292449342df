import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { seedEmbeddedDataDir } from './embedded-images.ts';
import { freePort } from './latchkey-under-test.ts';
import { demoSetupDocument } from './setups.ts';
import { waitFor } from './waiting.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ServerProcess {
  issuer: string;
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** stderr alone: what a person starting it reads. */
  stderr(): string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string | null>;
  running(): boolean;
}

export interface ServerDirs {
  dir: string;
  dataDir: string;
  keysDir: string;
  configFile: string;
}

/**
 * A data, keys and setup-file directory (the catalogue's demo setup) for
 * server processes; the embedded database in it starts as a copy of a freshly
 * initialised one (test/helpers/embedded-images.ts) unless the server will
 * use PostgreSQL.
 */
export async function serverDirs(t: Test, { embedded = !process.env.DATABASE_URL } = {}): Promise<ServerDirs> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-process-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const configFile = path.join(dir, 'latchkey.json');
  await writeFile(configFile, JSON.stringify(demoSetupDocument()));
  const dataDir = path.join(dir, 'data');
  if (embedded) await seedEmbeddedDataDir(dataDir);
  return { dir, dataDir, keysDir: path.join(dir, 'keys'), configFile };
}

/**
 * `latchkey serve` as a real process, as `npm start` runs it. Resolves once
 * it answers discovery, or once it has exited (then `running()` is false and
 * `output()` says why). Killed when the test ends.
 */
export async function spawnServer(t: Test, dirs: ServerDirs, { databaseUrl, env = {} }: { databaseUrl?: string | undefined; env?: Record<string, string> } = {}): Promise<ServerProcess> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['bin/latchkey.js', 'serve'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? dirs.dir,
      NODE_ENV: 'test',
      PORT: String(port),
      HOST: '127.0.0.1',
      LATCHKEY_ISSUER: issuer,
      LATCHKEY_DATA_DIR: dirs.dataDir,
      LATCHKEY_KEYS_DIR: dirs.keysDir,
      LATCHKEY_CONFIG: dirs.configFile,
      LOG_LEVEL: 'warn',
      // Servers of parallel test files must not share the default admin port; a test that wants it sets one.
      LATCHKEY_ADMIN_PORT: 'off',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; stderr += chunk; });
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const running = () => child.exitCode === null && child.signalCode === null;
  t.teardown(async () => {
    if (running()) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  await waitFor(() => fetch(`${issuer}/.well-known/openid-configuration`).then((res) => res.ok, () => false), { timeoutMs: 60_000, giveUp: () => !running() });
  return { issuer, child, output: () => output, stderr: () => stderr, exited, running };
}
