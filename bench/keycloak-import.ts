import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import argon2 from 'argon2';
import { ARGON2_OPTIONS } from '../src/accounts/password-hasher.ts';
import { runCli } from '../src/cli/run-cli.ts';
import { loadDeclarativeFile } from '../src/config/index.ts';
import { createBenchDatabase, type BenchDatabase } from './bench-database.ts';

/**
 * `npm run bench:keycloak-import [-- --users 10000 --plain 1000 --postgres]`:
 * how long `latchkey import` takes for a generated Keycloak realm export.
 *
 * 1. N users whose Keycloak hashes are kept (half PBKDF2-SHA256 at 27,500
 *    iterations, half argon2 at Keycloak 24+'s defaults), imported into an
 *    empty realm, then imported again (nothing changes: one read);
 * 2. M users with plain passwords (`credentials: [{type: password, value}]`),
 *    which are hashed on import with argon2id (the cost that dominates).
 *
 * Each import is the CLI command as a person runs it (in this process, the
 * embedded database in a temporary directory, or a fresh PostgreSQL
 * database with --postgres), timed from start to exit status; the database
 * is opened (and, embedded, initialised) once before, untimed. Hashes are
 * drawn from a small pool computed at start: importing never verifies them.
 */
const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '10000' },
    plain: { type: 'string', default: '1000' },
    postgres: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write('Usage: npm run bench:keycloak-import [-- --users N] [--plain M] [--postgres]\n');
  process.exit(0);
}
const USERS = Number(values.users);
const PLAIN = Number(values.plain);
const POOL = 8;

interface Credential { type: string; value?: string; secretData?: string; credentialData?: string }

async function hashPool(): Promise<Credential[]> {
  const pool: Credential[] = [];
  for (let i = 0; i < POOL; i += 1) {
    const salt = randomBytes(16);
    const password = `bench-password-${i}`;
    if (i % 2 === 0) {
      pool.push({
        type: 'password',
        secretData: JSON.stringify({ value: pbkdf2Sync(password, salt, 27_500, 32, 'sha256').toString('base64'), salt: salt.toString('base64'), additionalParameters: {} }),
        credentialData: JSON.stringify({ hashIterations: 27_500, algorithm: 'pbkdf2-sha256', additionalParameters: {} }),
      });
    } else {
      const hash = await argon2.hash(password, { raw: true, salt, type: argon2.argon2id, memoryCost: 7168, timeCost: 5, parallelism: 1, hashLength: 32, version: 0x13 });
      pool.push({
        type: 'password',
        secretData: JSON.stringify({ value: hash.toString('base64'), salt: salt.toString('base64'), additionalParameters: {} }),
        credentialData: JSON.stringify({ hashIterations: 5, algorithm: 'argon2', additionalParameters: { hashLength: ['32'], memory: ['7168'], type: ['id'], version: ['1.3'], parallelism: ['1'] } }),
      });
    }
  }
  return pool;
}

/** A realm as `kc.sh export` writes it, trimmed to what matters here, with `count` users. */
function realmExport(realm: string, count: number, credential: (i: number) => Credential): Record<string, unknown> {
  return {
    realm,
    enabled: true,
    accessTokenLifespan: 300,
    ssoSessionIdleTimeout: 1800,
    ssoSessionMaxLifespan: 36_000,
    roles: {
      realm: [
        { name: `default-roles-${realm}`, composite: true, composites: { realm: ['offline_access', 'uma_authorization'] }, clientRole: false },
        { name: 'offline_access', composite: false, clientRole: false },
        { name: 'uma_authorization', composite: false, clientRole: false },
        { name: 'employee', composite: false, clientRole: false },
      ],
    },
    groups: [{ name: 'staff', path: '/staff', realmRoles: ['employee'], subGroups: [] }],
    clients: [{
      clientId: 'portal', enabled: true, publicClient: false, secret: 'portal-secret-for-the-bench', clientAuthenticatorType: 'client-secret',
      redirectUris: ['https://portal.example.com/callback'], standardFlowEnabled: true, protocol: 'openid-connect',
      defaultClientScopes: ['profile', 'email', 'roles'], attributes: { 'pkce.code.challenge.method': 'S256' },
    }],
    users: Array.from({ length: count }, (_, i) => ({
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      createdTimestamp: 1_733_000_000_000,
      username: `user${String(i).padStart(6, '0')}`,
      enabled: true,
      totp: false,
      emailVerified: true,
      firstName: 'Bench',
      lastName: `User ${i}`,
      email: `user${i}@bench.example`,
      credentials: [credential(i)],
      disableableCredentialTypes: [],
      requiredActions: [],
      realmRoles: [`default-roles-${realm}`],
      notBefore: 0,
      groups: ['/staff'],
    })),
  };
}

async function timedImport(file: string, env: Record<string, string>): Promise<{ seconds: number; output: string }> {
  let output = '';
  const stdout = { write: (chunk: string) => { output += chunk; return true; } } as unknown as NodeJS.WritableStream;
  const started = performance.now();
  const status = await runCli(['import', file], { stdout, stderr: process.stderr, stdin: process.stdin, env });
  const seconds = (performance.now() - started) / 1000;
  if (status !== 0) throw new Error(`latchkey import exited with ${status}:\n${output}`);
  return { seconds, output: output.split('\n').filter((line) => line.startsWith('realm ')).join('\n') };
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-kc-bench-'));
let database: BenchDatabase | undefined;
try {
  if (values.postgres) database = await createBenchDatabase();
  const configFile = path.join(dir, 'latchkey.yaml');
  await writeFile(configFile, 'realms: []\n');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    LATCHKEY_DATA_DIR: path.join(dir, 'data'),
    LATCHKEY_KEYS_DIR: path.join(dir, 'keys'),
    LATCHKEY_CONFIG: configFile,
    ...(database ? { DATABASE_URL: database.url } : {}),
  };
  // Opens (embedded: initialises) the database once, untimed.
  if (await runCli(['users', 'list', '--realm', 'none'], { stdout: new (await import('node:stream')).PassThrough(), stderr: process.stderr, stdin: process.stdin, env }) !== 0) {
    throw new Error('could not open the database');
  }

  const pool = await hashPool();
  const keptFile = path.join(dir, 'kept-realm.json');
  await writeFile(keptFile, JSON.stringify(realmExport('kept-hashes', USERS, (i) => pool[i % POOL]!)));
  const plainFile = path.join(dir, 'plain-realm.json');
  await writeFile(plainFile, JSON.stringify(realmExport('plain-passwords', PLAIN, (i) => ({ type: 'password', value: `plain-password-${i}` }))));

  const parseStarted = performance.now();
  await loadDeclarativeFile(keptFile, { env: {}, nodeEnv: 'development' });
  const parseSeconds = (performance.now() - parseStarted) / 1000;

  // The machine's argon2id speed right now, at Latchkey's parameters, two at a time as the hasher runs them: the floor for plain passwords.
  const argonStarted = performance.now();
  await Promise.all([0, 1].map(async (lane) => {
    for (let i = 0; i < 20; i += 1) await argon2.hash(`reference-${lane}-${i}`, ARGON2_OPTIONS);
  }));
  const argonMs = (performance.now() - argonStarted) / 40;

  const first = await timedImport(keptFile, env);
  const again = await timedImport(keptFile, env);
  const plain = await timedImport(plainFile, env);

  const where = database ? 'PostgreSQL' : 'embedded (PGlite)';
  process.stdout.write([
    `Keycloak realm import on ${where}, Node ${process.versions.node}, ${os.cpus().length} CPUs`,
    `  reading and translating the ${USERS}-user export: ${parseSeconds.toFixed(2)} s`,
    `  ${USERS} users, Keycloak hashes kept, into an empty realm: ${first.seconds.toFixed(2)} s  (${first.output})`,
    `  the same export again:                 ${again.seconds.toFixed(2)} s  (${again.output})`,
    `  ${PLAIN} users with plain passwords (argon2id): ${plain.seconds.toFixed(2)} s = ${(plain.seconds * 1000 / PLAIN).toFixed(1)} ms per user  (${plain.output})`,
    `  argon2id alone, two at a time, same moment: ${argonMs.toFixed(1)} ms per hash`,
    `  load average: ${os.loadavg().map((n) => n.toFixed(1)).join(' ')}`,
    '',
  ].join('\n'));
} finally {
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
}
