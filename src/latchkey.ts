import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { AccountService } from './accounts/account-service.ts';
import { createAdminAuthentication } from './admin/admin-authentication.ts';
import type { ServedRealm } from './admin/admin-route.ts';
import { buildAdminApp } from './admin/build-admin-app.ts';
import { createPasswordHasher, type PasswordHasher } from './accounts/password-hasher.ts';
import { PasswordSignIn } from './accounts/password-sign-in.ts';
import { NO_AUDIT, type AuditEvent } from './audit/audit-event.ts';
import { createAuditTrail, readAuditEvents, type AuditEventFilter, type AuditEventKey } from './audit/audit-events.ts';
import { startAuditRetention } from './audit/audit-retention.ts';
import { createSecretVerifier, type SecretVerifier } from './clients/client-secrets.ts';
import { ClientChanges } from './clients/client-changes.ts';
import { ClientService } from './clients/client-service.ts';
import { ADMIN_REALM, readSetupFile, type LatchkeyConfig } from './config/index.ts';
import { StartupError } from './errors/index.ts';
import { buildApp, ASSETS_PATH, type MountedRealm } from './http/build-app.ts';
import { createProviderPages } from './http/provider-pages.ts';
import { loadServerSecrets, type ServerSecrets } from './keys/server-secrets.ts';
import { KeyAdministration } from './keys/key-administration.ts';
import { keyOptionsOf, loadKeySet, type KeySet } from './keys/signing-keys.ts';
import { startSweeper } from './oidc/expired-payload-sweeper.ts';
import { interactionClaims } from './oidc/interaction-claims.ts';
import { PayloadLookups } from './oidc/payload-lookups.ts';
import { createProvider, type RealmSettings } from './oidc/provider-factory.ts';
import { findClientCredentials } from './oidc/structured-access-tokens.ts';
import { createClientAuthLimiters } from './rate-limits/client-auth-limiters.ts';
import { createLoginLimiters } from './rate-limits/login-limiters.ts';
import { countedBrakes } from './metrics/counted-brakes.ts';
import { countEngineAnswers } from './metrics/engine-metrics.ts';
import { LatchkeyMetrics } from './metrics/latchkey-metrics.ts';
import { requestMetricsHook } from './metrics/request-metrics.ts';
import { realmList } from './oidc/realm-list.ts';
import { longestSignedTokenLifetime } from './oidc/signed-token-lifetime.ts';
import { RealmConfigurations } from './realms/realm-configuration.ts';
import { SetupApplication } from './realms/setup-application.ts';
import { ResourceServerService } from './resource-servers/resource-server-service.ts';
import { IssuedAdministration } from './tokens/issued-administration.ts';
import { InitialAccessTokens } from './registration/initial-access-tokens.ts';
import { openDatabase, type Database } from './store/database.ts';
import type { InMemoryDatabases } from './store/in-memory-databases.ts';
import { migrateToLatest, migrationStatus } from './store/migrator.ts';

/**
 * The composition root: every long-lived part of Latchkey is created here,
 * once, and closed here, in the reverse order. The server (src/main.ts, and
 * tests) asks for all of it through `assembleLatchkey`; the CLI
 * (src/cli/command-context.ts) for the parts without a listener through
 * `openServices` and `openDatabaseForMigrations`. Nothing else opens a
 * database, loads keys or builds a provider.
 *
 *   keys → database (+ its lock) → secrets, hasher → accounts, clients
 *     → declarative setup → metrics → brakes, lookups → realms and their providers → app
 *     → admin app → sweeper → key watcher
 * (the audit trail right after the database: closed after every part that
 * records, before the database its last batch goes to).
 */

/** The domain services the server and the CLI share. */
export interface Services {
  database: Database;
  hasher: PasswordHasher;
  secrets: ServerSecrets;
  secretVerifier: SecretVerifier;
  accounts: AccountService;
  clients: ClientService;
  resourceServers: ResourceServerService;
  /** This process's client changes, for its client caches (src/clients/client-changes.ts). */
  clientChanges: ClientChanges;
  /** Tokens, consents and sessions, as the admin API administers them. */
  issued: IssuedAdministration;
  /** Dynamic client registration's initial access tokens. */
  initialAccessTokens: InitialAccessTokens;
}

export interface Latchkey {
  app: FastifyInstance;
  /** The admin API's app (src/admin/), listened on apart from `app`; undefined with LATCHKEY_ADMIN_PORT=off. */
  adminApp: FastifyInstance | undefined;
  services: Services;
  realms: readonly MountedRealm[];
  /** Prometheus metrics (src/metrics/); undefined with LATCHKEY_METRICS=off. */
  metrics: LatchkeyMetrics | undefined;
  /** A realm's audit events, newest first, including those still waiting for their batch; none with LATCHKEY_AUDIT=off. */
  auditEvents(realm: string, filter: AuditEventFilter, range: { after: AuditEventKey | undefined; limit: number }): Promise<AuditEvent[]>;
  /** Stops the parts in the reverse order of their creation; in-flight requests finish first. */
  close(): Promise<void>;
}

/**
 * Parts that must be closed, closed last-first. A part that fails to close
 * does not keep the others open; the first failure is reported after all
 * were tried.
 */
class Parts {
  readonly #closers: { name: string; close: () => Promise<void> | void }[] = [];

  own<T>(name: string, part: T, close: (part: T) => Promise<void> | void): T {
    this.#closers.push({ name, close: () => close(part) });
    return part;
  }

  async closeAll(): Promise<void> {
    let failure: unknown;
    for (const { close } of this.#closers.splice(0).reverse()) {
      try {
        await close();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure) throw failure;
  }
}

/**
 * Assembles a complete Latchkey without listening; src/main.ts listens and
 * handles the process, tests call this directly. `inMemory` keeps the
 * embedded database in memory (tests), started from `embeddedImage` when
 * given (src/store/database.ts).
 */
export async function assembleLatchkey(
  config: LatchkeyConfig,
  logger: Logger,
  { inMemory = false, embeddedImage, inMemoryDatabases }: { inMemory?: boolean; embeddedImage?: Blob | undefined; inMemoryDatabases?: InMemoryDatabases | undefined } = {},
): Promise<Latchkey> {
  // Keys first: a key problem stops the start before anything is opened or written.
  let keys = await loadKeySet(keyOptionsOf(config, { generate: true }), logger);
  const parts = new Parts();
  try {
    const services = await openParts(parts, config, logger, { inMemory, embeddedImage, inMemoryDatabases, role: 'server' });
    // LATCHKEY_AUDIT=off: no rows, no audit log lines (the bench compares both).
    const trail = config.audit.enabled ? parts.own('audit trail', createAuditTrail(services.database.db, logger), (built) => built.close()) : undefined;
    const audit = trail ?? NO_AUDIT;
    const readEvents = readAuditEvents(services.database.db);
    // The start and the admin API's re-apply go through the same service: one reading, one validation, one report.
    const setupApplication = new SetupApplication({ config, services, readSetup: () => readSetupFile(config), logger });
    await setupApplication.atStart();

    const realmSettings = realmList(config);
    // One registry per Latchkey; with LATCHKEY_METRICS=off nothing below counts anything.
    const metrics = config.metrics && new LatchkeyMetrics(config.metrics);
    metrics?.watchDatabase(() => services.database.usage());
    // The brakes live as long as the process: providers are rebuilt on every key rotation.
    const clientAuthLimiters = metrics ? countedBrakes(createClientAuthLimiters(), 'client_authentication', metrics) : createClientAuthLimiters();
    const loginLimiters = metrics ? countedBrakes(createLoginLimiters(), 'sign_in', metrics) : createLoginLimiters();
    const signIn = new PasswordSignIn(services.accounts, loginLimiters, { refused: metrics && ((realm) => metrics.signInFailed(realm)) });
    // One per realm, shared by its aliases (src/oidc/realm-list.ts), which serve the same grants and sessions.
    const lookupsByRealm = new Map<string, PayloadLookups>();
    const lookups = realmSettings.map((settings) => {
      let found = lookupsByRealm.get(settings.name);
      if (!found) lookupsByRealm.set(settings.name, found = new PayloadLookups(services.database.db, settings.name));
      return found;
    });
    const buildProviders = async (keySet: KeySet) => Promise.all(realmSettings.map(async (settings, i) => {
      const resourceServers = await services.resourceServers.list(settings.name);
      for (const server of resourceServers) {
        const { format, algorithm } = server.access_token;
        if (format === 'jwt' && !keySet.signingAlgs.includes(algorithm)) {
          throw new StartupError(`realm ${settings.name}: resource server ${server.identifier} wants ${algorithm} access tokens, and no active key signs ${algorithm} (have ${keySet.signingAlgs.join(', ')})`);
        }
      }
      const knownScopes = [
        ...(await services.clients.list(settings.name)).flatMap((c) => String(c.metadata['scope'] ?? '').split(' ').filter(Boolean)),
        ...resourceServers.flatMap((server) => server.scopes),
      ];
      const provider = createProvider({
        db: services.database.db,
        realm: settings,
        keys: keySet,
        cookieKeys: services.secrets.cookieKeys,
        digestKey: services.secrets.digestKey,
        accounts: services.accounts,
        secrets: services.secretVerifier,
        pages: createProviderPages(ASSETS_PATH, { mountPath: settings.mountPath, realmBranding: settings.branding }),
        trustProxy: config.trustProxy,
        knownScopes,
        clientAuthLimiters,
        clientChanges: services.clientChanges,
        lookups: lookups[i]!,
        resourceServers: services.resourceServers,
        signIn: (attempt) => signIn.check(attempt),
        registration: { clients: services.clients, initialAccessTokens: services.initialAccessTokens },
        audit,
      });
      if (metrics) countEngineAnswers(provider, settings.name, metrics);
      return provider;
    }));
    const realms: MountedRealm[] = (await buildProviders(keys)).map((provider, i) => ({
      settings: realmSettings[i]!,
      provider,
      interactions: interactionClaims(services.database.db, realmSettings[i]!.name),
    }));

    const app = parts.own('http app', await buildApp({
      logger,
      realms,
      ping: services.database.ping,
      unitOfWork: services.database.unitOfWork,
      signIn,
      audit,
      logRequests: config.logRequests,
      countRequest: metrics && requestMetricsHook(metrics, 'public'),
      trustProxy: config.trustProxy,
      jwks: { jwksMaxAgeSeconds: config.keys.jwksMaxAgeSeconds, x5tS256: () => keys.x5tS256 },
    }), (built) => built.close());
    // The admin API checks its bearer tokens where the admin realm issued them: its provider of the moment (a key rotation replaces it).
    const adminRealm = realms.find((realm) => realm.settings.name === ADMIN_REALM)!;
    const adminApp = config.admin === undefined ? undefined : parts.own('admin app', await buildAdminApp({
      logger,
      services: {
        clients: services.clients,
        accounts: services.accounts,
        issued: services.issued,
        initialAccessTokens: services.initialAccessTokens,
        realms: servedRealms(realmSettings),
        metrics,
        keys: new KeyAdministration({ config, longestSignedTokenLifetime: () => longestSignedTokenLifetime(realmSettings, config.setup, services) }),
        realmConfigurations: new RealmConfigurations({ config, realms, keys: () => keys, ...services }),
        setup: setupApplication,
        auditEvents: readEvents,
      },
      authenticate: createAdminAuthentication({
        findToken: (value) => findClientCredentials(adminRealm.provider, value),
        layoutAudience: adminRealm.settings.layout.defaultAudience,
        clients: services.clients,
        limiters: clientAuthLimiters,
      }),
      unitOfWork: services.database.unitOfWork,
      trustProxy: config.trustProxy,
      logRequests: config.logRequests,
      countRequest: metrics && requestMetricsHook(metrics, 'admin'),
      audit,
    }), (built) => built.close());
    const sweepObserver = metrics && { swept: metrics.swept.bind(metrics), failed: metrics.sweepFailed.bind(metrics) };
    parts.own('sweeper', startSweeper(services.database.db, logger, config.sweepIntervalSeconds, sweepObserver), (sweeper) => sweeper.stop());
    parts.own('audit retention', startAuditRetention(services.database.db, logger, {
      retentionDays: config.audit.retentionDays, intervalSeconds: config.sweepIntervalSeconds,
    }), (retention) => retention.stop());
    parts.own('key watcher', watchKeys({
      intervalSeconds: config.keys.checkSeconds,
      current: () => keys,
      load: () => loadKeySet(keyOptionsOf(config, { generate: false })),
      logger,
      async swap(next) {
        const providers = await buildProviders(next);
        keys = next;
        providers.forEach((provider, i) => { realms[i]!.provider = provider; });
        // Server-wide, so under the admin realm's name; key ids are public (the JWKS lists them).
        audit.record({
          realm: ADMIN_REALM, type: 'keys.rotated', outcome: 'success', actor: 'key watcher',
          details: { signing: next.published.filter((k) => k.signs).map((k) => k.kid), published: next.published.map((k) => k.kid) },
        });
      },
    }), (watch) => watch.stop());
    const auditEvents: Latchkey['auditEvents'] = async (...query) => {
      await trail?.flush();
      return readEvents(...query);
    };
    return { app, adminApp, services, realms, metrics, auditEvents, close: () => parts.closeAll() };
  } catch (error) {
    await parts.closeAll().catch(() => {});
    throw error;
  }
}

/** The realms as the admin API lists them: one entry per realm, its aliases' issuers with it. */
function servedRealms(settings: readonly RealmSettings[]): ServedRealm[] {
  const byName = new Map<string, ServedRealm>();
  for (const realm of settings) {
    let served = byName.get(realm.name);
    if (!served) byName.set(realm.name, served = { name: realm.name, issuers: [] });
    served.issuers.push({ issuer: realm.issuer, layout: realm.layout.kind });
  }
  return [...byName.values()];
}

/**
 * The services without a listener, for one CLI command: the embedded
 * database is opened under its lock, held by `role` (the command's name),
 * so a command is refused while a server has it open.
 */
export async function openServices(config: LatchkeyConfig, logger: Logger, { role }: { role: string }): Promise<Services & { close(): Promise<void> }> {
  const parts = new Parts();
  try {
    const services = await openParts(parts, config, logger, { inMemory: false, role });
    return { ...services, close: () => parts.closeAll() };
  } catch (error) {
    await parts.closeAll().catch(() => {});
    throw error;
  }
}

/** The bare database, whatever its schema version, for `latchkey migrate`. */
export async function openDatabaseForMigrations(config: LatchkeyConfig, logger: Logger, { role }: { role: string }): Promise<Database> {
  return openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: embeddedDatabaseDir(config),
    poolMax: 2,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    queryTimeoutMs: 0, // a migration may build an index over millions of rows
    role,
    logger,
  });
}

/** Where the embedded database lives under the data directory. */
export function embeddedDatabaseDir(config: Pick<LatchkeyConfig, 'dataDir'>): string {
  return path.join(config.dataDir, 'pglite');
}

/**
 * The database and the domain services on it. Migration policy: the
 * embedded database is migrated on open (it belongs to this process); a
 * PostgreSQL server is migrated only by `latchkey migrate`, and opening it
 * with pending migrations is refused.
 */
async function openParts(
  parts: Parts,
  config: LatchkeyConfig,
  logger: Logger,
  { inMemory, embeddedImage, inMemoryDatabases, role }: { inMemory: boolean; embeddedImage?: Blob | undefined; inMemoryDatabases?: InMemoryDatabases | undefined; role: string },
): Promise<Services> {
  const database = parts.own('database', await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: inMemory ? undefined : embeddedDatabaseDir(config),
    embeddedImage,
    inMemoryDatabases,
    poolMax: config.dbPoolMax,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    role,
    logger,
  }), (opened) => opened.close());
  if (database.kind === 'pglite') {
    const applied = await migrateToLatest(database.db);
    if (applied.length) logger.info({ migrations: applied }, 'embedded database migrated');
  } else {
    const pending = (await migrationStatus(database.db)).filter((m) => !m.executedAt);
    if (pending.length) {
      throw new StartupError(`database has ${pending.length} pending migration(s) (${pending[0]!.name}…): run \`npx latchkey migrate latest\` first`);
    }
  }
  const secrets = await loadServerSecrets(config.keysDir, config.cookieKeys);
  const hasher = createPasswordHasher();
  const clientChanges = new ClientChanges();
  const accounts = new AccountService(database.db, hasher);
  return {
    database,
    hasher,
    secrets,
    secretVerifier: createSecretVerifier({ digestKey: secrets.digestKey, hasher }),
    accounts,
    clients: new ClientService(database.db, hasher, secrets.digestKey, { production: config.nodeEnv === 'production', changes: clientChanges }),
    resourceServers: new ResourceServerService(database.db),
    clientChanges,
    issued: new IssuedAdministration(database.db, accounts, secrets.digestKey),
    initialAccessTokens: new InitialAccessTokens(database.db, {
      registrationRealms: config.setup.realms.filter((realm) => realm.registration?.enabled).map((realm) => realm.name),
    }),
  };
}

/**
 * Re-reads the keys folder and key schedule every few seconds; when what is
 * published or what signs has changed (a staged key's time came, a retired
 * key's tokens expired, a file was added), the realms get new providers
 * built with the new key set. State lives in the database and cookies keep
 * their keys, so requests in flight and sessions are unaffected. A folder
 * that no longer loads keeps the current keys and logs why.
 */
function watchKeys({ intervalSeconds, current, load, swap, logger }: {
  intervalSeconds: number;
  current: () => KeySet;
  load: () => Promise<KeySet>;
  swap: (next: KeySet) => Promise<void>;
  logger: Logger;
}): { stop(): void } {
  let busy = false;
  let lastProblem: string | undefined;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      try {
        const next = await load();
        lastProblem = undefined;
        if (next.fingerprint === current().fingerprint) return;
        await swap(next);
        logger.info({ signing: next.published.filter((k) => k.signs).map((k) => k.kid), published: next.published.length }, 'signing keys changed');
      } catch (error) {
        const problem = (error as Error).message;
        if (problem !== lastProblem) logger.error({ err: { message: problem } }, 'the keys folder no longer loads; keeping the current keys');
        lastProblem = problem;
      } finally {
        busy = false;
      }
    })();
  }, intervalSeconds * 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
