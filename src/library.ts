import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { readEnv, setupFrom, type LatchkeyConfig } from './config/index.ts';
import type { AuditEvent } from './audit/audit-event.ts';
import type { AuditEventFilter } from './audit/audit-events.ts';
import { assembleLatchkey, type Latchkey } from './latchkey.ts';
import { RealmRequests, type ClientOptions, type SignInOptions, type TokenResponse } from './library/realm-requests.ts';
import { ServerClock } from './library/server-clock.ts';
import { createLogger } from './log/logger.ts';
import { emptyEmbeddedImage } from './store/database.ts';
import { InMemoryDatabases } from './store/in-memory-databases.ts';

/**
 * Latchkey as a library: a complete server (every realm, its pages, keys and
 * database) started inside another program, typically a test suite, and
 * released whole by `stop()`. The same composition root as `npm start`
 * (src/latchkey.ts); only where it listens, what it stores and where its
 * keys live differ:
 *
 *   database  in memory (embedded), unless `dataDir` or `databaseUrl`
 *   keys      generated into a temporary folder removed by stop(), unless `keysDir`
 *   port      a free loopback port, unless `port`
 *   admin API off, unless `admin: true` (then on a free loopback port)
 *
 * Several can run in one process, each on its own port with its own state.
 */
export { OAuthRequestError, type ClientOptions, type SignInOptions, type TokenResponse } from './library/realm-requests.ts';
export type { ServerClock } from './library/server-clock.ts';
export type { AuditEvent } from './audit/audit-event.ts';

export interface StartOptions {
  /**
   * What the server declares: realms, clients, users, resource servers. A
   * document as the setup file holds it (src/config/declarative-schema.ts),
   * or the path of such a file (YAML or JSON; `${VAR}` read from `env` and
   * then the process). Default: nothing declared.
   */
  setup?: Record<string, unknown> | string | undefined;
  /** Default: a free port, picked by the system. */
  port?: number | undefined;
  /** Default: 127.0.0.1. */
  host?: string | undefined;
  /** A PostgreSQL server, migrated (`npx latchkey migrate latest`). */
  databaseUrl?: string | undefined;
  /** The embedded database on disk, kept after stop(). */
  dataDir?: string | undefined;
  /** Signing keys and server secrets, kept after stop(); generated there when empty. */
  keysDir?: string | undefined;
  /** The admin API on a listener of its own: `true` on a free port, or this port. Default: off. */
  admin?: boolean | number | undefined;
  /** Default: `error`, to stderr (a server made for one test run has no use for the warnings of a lasting one, such as keys generated). */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' | undefined;
  /** Further settings, as the environment variables of the README (e.g. LATCHKEY_ACCESS_TOKEN_TTL). */
  env?: Record<string, string> | undefined;
}

export interface StartedRealm {
  name: string;
  issuer: string;
  discoveryUrl: string;
  tokenEndpoint: string;
  /** The client ids and usernames it declares. */
  clients: string[];
  users: string[];
}

export interface StartedLatchkey {
  /** The issuer of the `default` realm, else of the first one. */
  issuer: string;
  discoveryUrl: string;
  /** Where the server listens: http://host:port. */
  url: string;
  /** Where the admin API listens, with `admin: true`. */
  adminUrl: string | undefined;
  /** The signing keys and server secrets: `keysDir`, or a temporary folder (`latchkey-run-*`) that stop() removes. */
  keysDir: string;
  realms: Record<string, StartedRealm>;
  /** The assembled server, for what the fields above do not cover. */
  latchkey: Latchkey;
  /** A client credentials grant (the client's secret from the setup unless given); rejects with an OAuthRequestError when refused. */
  clientCredentials(options: ClientOptions & { scope?: string | undefined; resource?: string | undefined }): Promise<TokenResponse>;
  /**
   * A user signs in to a client, as a browser would do it: the authorization
   * code flow with PKCE over HTTP, the sign-in page's form filled with the
   * user's password (from the setup unless given), consent given when asked
   * for; returns the token response the client gets for the code.
   */
  signIn(options: SignInOptions): Promise<TokenResponse>;
  /** Revokes an access or refresh token as its client (RFC 7009). */
  revoke(token: string, options: ClientOptions & { tokenTypeHint?: 'access_token' | 'refresh_token' | undefined }): Promise<void>;
  /** A realm's audit events (default realm unless named), newest first, including those still waiting to be written. */
  auditEvents(options?: AuditEventFilter & { realm?: string | undefined; limit?: number | undefined }): Promise<AuditEvent[]>;
  clock: ServerClock;
  /** Closes the listeners, the database, the timers; removes what it created. Safe to call twice. */
  stop(): Promise<void>;
}

/** How often a free port picked by the system may turn out taken by the time we listen. */
const PORT_ATTEMPTS = 5;

export async function startLatchkey(options: StartOptions = {}): Promise<StartedLatchkey> {
  const host = options.host ?? '127.0.0.1';
  const ownKeysDir = options.keysDir === undefined ? await mkdtemp(path.join(os.tmpdir(), 'latchkey-run-')) : undefined;
  try {
    for (let attempt = 1; ; attempt += 1) {
      const port = options.port ?? await freePort(host);
      try {
        return await startOn(port, host, options, ownKeysDir);
      } catch (error) {
        // Another program took the port between our pick and our listen: pick again.
        if (options.port !== undefined || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === PORT_ATTEMPTS) throw error;
      }
    }
  } catch (error) {
    if (ownKeysDir) await rm(ownKeysDir, { recursive: true, force: true });
    throw error;
  }
}

async function startOn(port: number, host: string, options: StartOptions, ownKeysDir: string | undefined): Promise<StartedLatchkey> {
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const keysDir = options.keysDir ?? ownKeysDir!;
  const env: Record<string, string | undefined> = {
    NODE_ENV: 'test',
    LATCHKEY_ISSUER: url,
    ...options.env,
    PORT: String(port),
    HOST: host,
    DATABASE_URL: options.databaseUrl,
    LATCHKEY_DATA_DIR: options.dataDir ?? path.join(keysDir, 'data'),
    LATCHKEY_KEYS_DIR: keysDir,
    // The setup is handed over below; this file is never read.
    LATCHKEY_CONFIG: path.join(keysDir, 'latchkey.yaml'),
    LOG_LEVEL: options.logLevel ?? 'error',
    LATCHKEY_ADMIN_PORT: 'off',
  };
  const settings = readEnv(env);
  const config: LatchkeyConfig = {
    ...settings,
    // Port 0, which the environment does not accept: the system picks a free one when it listens, below.
    admin: options.admin === undefined || options.admin === false ? undefined : { port: options.admin === true ? 0 : options.admin, host },
    setup: await setupFrom(options.setup, { env: options.env, nodeEnv: settings.nodeEnv }),
  };
  const logger = createLogger(config.logLevel, process.stderr);
  const inMemory = options.databaseUrl === undefined && options.dataDir === undefined;
  const latchkey = await assembleLatchkey(config, logger, { inMemory, inMemoryDatabases: inMemory ? inMemoryDatabases : undefined });
  let adminUrl: string | undefined;
  try {
    await latchkey.app.listen({ port, host });
    if (latchkey.adminApp && config.admin) adminUrl = await latchkey.adminApp.listen({ port: config.admin.port, host });
  } catch (error) {
    await latchkey.close().catch(() => {});
    throw error;
  }

  const realms: Record<string, StartedRealm> = {};
  for (const { settings: realm } of latchkey.realms) {
    if (realms[realm.name]) continue; // an alias: the realm's first issuer names it
    const declared = config.setup.realms.find((r) => r.name === realm.name);
    realms[realm.name] = {
      name: realm.name,
      issuer: realm.issuer,
      discoveryUrl: `${realm.issuer}/.well-known/openid-configuration`,
      tokenEndpoint: `${realm.issuer}${realm.layout.routes.token ?? '/token'}`,
      clients: declared?.clients.map((client) => client.client_id) ?? [],
      users: declared?.users.map((user) => user.username) ?? [],
    };
  }
  const primary = realms['default'] ?? Object.values(realms)[0]!;
  const realmNamed = (name: string | undefined): StartedRealm => {
    const realm = name === undefined ? primary : realms[name];
    if (!realm) throw new Error(`no realm ${name} (have ${Object.keys(realms).join(', ')})`);
    return realm;
  };
  const requests = new RealmRequests({
    discoveryUrl: (name) => realmNamed(name).discoveryUrl,
    declaration: (name) => config.setup.realms.find((realm) => realm.name === realmNamed(name).name),
  });
  let stopped: Promise<void> | undefined;
  return {
    issuer: primary.issuer,
    discoveryUrl: primary.discoveryUrl,
    url,
    adminUrl,
    keysDir,
    realms,
    latchkey,
    clientCredentials: (request) => requests.clientCredentials(request),
    signIn: (request) => requests.signIn(request),
    revoke: (token, request) => requests.revoke(token, request),
    auditEvents: ({ realm, limit = 100, ...filter } = {}) => latchkey.auditEvents(realmNamed(realm).name, filter, { after: undefined, limit }),
    clock: new ServerClock(latchkey.services, Object.keys(realms)),
    stop: () => stopped ??= (async () => {
      await latchkey.close();
      if (ownKeysDir) await rm(ownKeysDir, { recursive: true, force: true });
    })(),
  };
}

/**
 * What PGlite's initdb leaves, made once per process (initdb takes seconds
 * of CPU), and the in-memory databases of stopped servers, emptied for the
 * next one (src/store/in-memory-databases.ts): a start after the first
 * skips starting PostgreSQL.
 */
let image: Promise<Blob> | undefined;
const inMemoryDatabases = new InMemoryDatabases(() => {
  image ??= emptyEmbeddedImage().catch((error: unknown) => {
    image = undefined;
    throw error;
  });
  return image;
});

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
