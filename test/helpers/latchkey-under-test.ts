import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Test } from 'tap';
import { readEnv, type DeclarativeSetup, type Environment, type LatchkeyConfig } from '../../src/config/index.ts';
import { assembleLatchkey, type Latchkey } from '../../src/latchkey.ts';
import { createLogger } from '../../src/log/logger.ts';
import { openDatabase } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrator.ts';
import { emptyImage } from './embedded-images.ts';
import { createTestDatabase } from './test-database.ts';
import { demoSetup } from './setups.ts';

export interface RunningLatchkey {
  /** The configured issuer; where the server listens unless `issuer` was given. */
  issuer: string;
  /** Where the server listens (http://127.0.0.1:<port>). */
  listening: string;
  /** Where the admin API listens (its own port on 127.0.0.1); undefined with LATCHKEY_ADMIN_PORT=off. */
  admin: string | undefined;
  latchkey: Latchkey;
  keysDir: string;
  /** Everything the server logged, for the "no secrets in logs" checks. */
  logs: string[];
  config: LatchkeyConfig;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a real Latchkey on a loopback port with its own database and keys
 * directory, and tears it down when the test ends.
 */
export async function startLatchkey(t: Test, { setup = demoSetup(), keysDir, databaseUrl, logLevel = 'info', requestLogging = false, trustProxy = false, issuer: configuredIssuer, env = {} }: {
  setup?: DeclarativeSetup;
  keysDir?: string;
  databaseUrl?: string;
  logLevel?: string;
  /** LATCHKEY_LOG_REQUESTS. */
  requestLogging?: boolean;
  /** LATCHKEY_TRUST_PROXY. */
  trustProxy?: boolean;
  /** LATCHKEY_ISSUER, when it is not where the server listens (as behind a proxy). */
  issuer?: string;
  /** More environment settings. */
  env?: Environment;
} = {}): Promise<RunningLatchkey> {
  const port = await freePort();
  const listening = `http://127.0.0.1:${port}`;
  const issuer = configuredIssuer ?? listening;
  const ownKeys = !keysDir;
  keysDir ??= await mkdtemp(path.join(os.tmpdir(), 'latchkey-keys-'));
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  if (!databaseUrl) {
    database = await createTestDatabase();
    databaseUrl = database.databaseUrl;
    if (databaseUrl) await migrate(databaseUrl);
  }

  const config = testConfig({
    issuer, port, keysDir, databaseUrl, setup, logLevel,
    env: { LATCHKEY_TRUST_PROXY: String(trustProxy), LATCHKEY_LOG_REQUESTS: String(requestLogging), ...env },
  });
  const logs: string[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done(); } });
  const latchkey = await assembleLatchkey(config, createLogger(logLevel, sink), {
    inMemory: !databaseUrl,
    embeddedImage: databaseUrl ? undefined : await emptyImage(),
  });
  await latchkey.app.listen({ port, host: '127.0.0.1' });
  // Port 0: the system picks a free one, so that parallel test files never collide on the admin listener.
  const admin = latchkey.adminApp ? await latchkey.adminApp.listen({ port: 0, host: '127.0.0.1' }) : undefined;

  t.teardown(async () => {
    await latchkey.close();
    await database?.drop();
    if (ownKeys) await rm(keysDir!, { recursive: true, force: true });
  });
  return { issuer, listening, admin, latchkey, keysDir, logs, config };
}

export async function migrate(databaseUrl: string): Promise<void> {
  const database = await openDatabase({ databaseUrl, logger: createLogger('silent') });
  try {
    await migrateToLatest(database.db);
  } finally {
    await database.close();
  }
}

/**
 * A configuration built the way the server builds its own: the environment
 * through readEnv (every value validated as at start) plus a setup that went
 * through the setup file's parser (test/helpers/setups.ts). `env` adds or
 * overrides variables (LATCHKEY_KEY_CHECK_SECONDS, LATCHKEY_TRUST_PROXY, …).
 */
export function testConfig({ issuer, port, keysDir, databaseUrl, dataDir = path.join(keysDir, 'data'), setup, logLevel = 'info', env = {} }: {
  issuer: string;
  port: number;
  keysDir: string;
  databaseUrl?: string | undefined;
  dataDir?: string;
  setup: DeclarativeSetup;
  logLevel?: string;
  env?: Environment;
}): LatchkeyConfig {
  const settings = readEnv({
    NODE_ENV: 'test',
    PORT: String(port),
    HOST: '127.0.0.1',
    LATCHKEY_ISSUER: issuer,
    DATABASE_URL: databaseUrl,
    LATCHKEY_DATA_DIR: dataDir,
    LATCHKEY_KEYS_DIR: keysDir,
    // Not read: the setup is handed over already parsed. A path of the test's own, never the repository's file.
    LATCHKEY_CONFIG: path.join(keysDir, 'latchkey.yaml'),
    LOG_LEVEL: logLevel,
    ...env,
  });
  return { ...settings, setup };
}
