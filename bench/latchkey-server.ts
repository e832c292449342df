import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { assembleLatchkey } from '../src/latchkey.ts';
import { createLogger } from '../src/log/logger.ts';
import { freePort, testConfig } from '../test/helpers/latchkey-under-test.ts';
import { demoSetupDocument, parseSetup } from '../test/helpers/setups.ts';
import { JWT_RESOURCES, PASSWORD_USERS, PWD, RSJWT } from './oauth-client.ts';
import { SECRETS } from '../test/helpers/setups.ts';
import { serveUntilTold } from './server-control.ts';

/**
 * Latchkey as the benchmark's system under test: a child process started by
 * bench/run.ts (pinned to its own core), on the PostgreSQL database named by
 * BENCH_DATABASE_URL (already migrated), with the catalog's demo clients.
 * Built like test/helpers/latchkey-under-test.ts does, logging at the
 * server's default level (`info`: what a default deployment pays for its
 * log) to stderr. Prints {"event":"ready","port":N} and then follows
 * bench/server-control.ts.
 *
 *   BENCH_DATABASE_URL    required
 *   BENCH_KEYS_DIR        signing keys and server secrets, shared by restarts (default: a temporary directory of its own)
 *   BENCH_SWEEP_SECONDS   sweeper interval (default 60)
 *   BENCH_COUNT_QUERIES   1: count SQL statements by text (for `--profile`; costs a little)
 *   BENCH_LATCHKEY_ENV    a JSON object of Latchkey settings, e.g. {"LATCHKEY_METRICS":"off"} (for `--observability`)
 */
const databaseUrl = process.env.BENCH_DATABASE_URL;
const LOG_LEVEL = 'info';
if (!databaseUrl) throw new Error('BENCH_DATABASE_URL is required');

const queries = process.env.BENCH_COUNT_QUERIES === '1' ? countQueries() : undefined;

const port = await freePort();
const ownKeys = !process.env.BENCH_KEYS_DIR;
const keysDir = process.env.BENCH_KEYS_DIR ?? await mkdtemp(path.join(os.tmpdir(), 'latchkey-bench-keys-'));
const removeOwnKeys = () => (ownKeys ? rm(keysDir, { recursive: true, force: true }) : Promise.resolve());
const config = {
  ...testConfig({
    issuer: `http://127.0.0.1:${port}`,
    port,
    keysDir,
    databaseUrl,
    setup: benchSetup(),
    logLevel: LOG_LEVEL,
    // Passed on as they are, also settings this build does not know yet (readEnv ignores those).
    env: JSON.parse(process.env.BENCH_LATCHKEY_ENV ?? '{}') as Record<string, string>,
  }),
  sweepIntervalSeconds: Number(process.env.BENCH_SWEEP_SECONDS ?? 60),
};

let latchkey;
try {
  latchkey = await assembleLatchkey(config, createLogger(LOG_LEVEL, process.stderr));
  await latchkey.app.listen({ port, host: '127.0.0.1' });
} catch (error) {
  await latchkey?.close().catch(() => {});
  await removeOwnKeys();
  throw error;
}

const running = latchkey;
serveUntilTold(port, async () => {
  await running.close();
  await removeOwnKeys();
}, queries ?? {});

/** Wraps pg's Client#query to count statements by their SQL text (parameters are placeholders, so the text is stable). */
function countQueries(): { queries(): Record<string, number>; resetQueries(): void } {
  let counts = new Map<string, number>();
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function countedQuery(this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string };
    const text = (typeof first === 'string' ? first : first?.text ?? '?').replace(/\s+/g, ' ').slice(0, 160);
    counts.set(text, (counts.get(text) ?? 0) + 1);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  return {
    queries: () => Object.fromEntries([...counts].sort((a, b) => b[1] - a[1])),
    resetQueries: () => { counts = new Map(); },
  };
}

/** The demo setup plus the resource servers the JWT scenarios ask for, as the baseline has them (bench/baseline-server.ts). */
function benchSetup() {
  const document = demoSetupDocument();
  document.realms[0]!['resource_servers'] = Object.entries(JWT_RESOURCES).map(([identifier, algorithm]) => ({
    identifier, scopes: ['api:read'], access_token: { format: 'jwt', algorithm },
  }));
  // The resource server that asks for RFC 9701 signed introspection answers, as the baseline's.
  document.realms[0]!.clients!.push({
    client_id: RSJWT[0], client_secret: RSJWT[1], token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'], response_types: [], redirect_uris: [], post_logout_redirect_uris: [],
    permissions: ['introspection'], introspection_signed_response_alg: 'ES256',
  });
  // The password grant's client and users, as the baseline's.
  document.realms[0]!.clients!.push({
    client_id: PWD[0], client_secret: PWD[1], token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['password'], response_types: [], redirect_uris: [], post_logout_redirect_uris: [], scope: 'openid api:read',
  });
  document.realms[0]!.users!.push(...PASSWORD_USERS.map((username) => ({ username, password: SECRETS.alice })));
  return parseSetup(document);
}
