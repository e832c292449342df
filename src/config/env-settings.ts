import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors/index.ts';
import { SIGNING_ALGORITHMS } from '../keys/algorithms.ts';
import { PATH_PREFIX } from '../oidc/realm-layouts.ts';

export type Environment = Readonly<Record<string, string | undefined>>;

/** Everything Latchkey reads from the environment, validated once. */
export interface EnvSettings {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /** Public base URL exactly as clients see it, without a trailing slash. */
  issuer: string;
  /** A PostgreSQL server, or undefined for the embedded database. */
  databaseUrl: string | undefined;
  dataDir: string;
  keysDir: string;
  configFile: string;
  /** Whether LATCHKEY_CONFIG named the file (then it must exist). */
  configFileExplicit: boolean;
  trustProxy: boolean;
  /**
   * Where this deployment's Keycloak-layout realms live under the base URL
   * unless their layout says (`/auth`: IFS Cloud, Keycloak 16 and older);
   * LATCHKEY_KEYCLOAK_PATH_PREFIX. A realm imported from a Keycloak export
   * has no setup file to say it in.
   */
  keycloakPathPrefix: string | undefined;
  logLevel: string;
  /** One log line per request (method, path, status, ms) at info; LATCHKEY_LOG_REQUESTS. */
  logRequests: boolean;
  cookieKeys: string[] | undefined;
  dbPoolMax: number;
  dbConnectTimeoutMs: number;
  sweepIntervalSeconds: number;
  keys: KeySettings;
  /** The administration listener (src/admin/build-admin-app.ts); undefined when turned off. */
  admin: AdminListenerSettings | undefined;
  /** Prometheus metrics at the admin listener's /metrics (src/metrics/); undefined with LATCHKEY_METRICS=off: nothing is collected. */
  metrics: MetricsSettings | undefined;
  audit: AuditSettings;
}

/** Audit events (src/audit/, README "Audit events"). */
export interface AuditSettings {
  /** LATCHKEY_AUDIT=on|off (default on); off records nothing: no rows, no audit log lines. */
  enabled: boolean;
  /** LATCHKEY_AUDIT_RETENTION_DAYS (default 90): older events are deleted. */
  retentionDays: number;
}

export interface MetricsSettings {
  /**
   * LATCHKEY_METRICS_CLIENT_LABELS=on: token and introspection counts also
   * by client id. Off by default: a series per client is unbounded on a
   * realm with dynamic registration.
   */
  clientLabels: boolean;
}

/**
 * Where the admin API listens: its own port, on loopback unless told
 * otherwise (Hydra's admin port, Keycloak's management interface), so that
 * nothing of it is on the public listener. LATCHKEY_ADMIN_PORT=off turns it off.
 */
export interface AdminListenerSettings {
  /** LATCHKEY_ADMIN_PORT; default 3001. */
  port: number;
  /** LATCHKEY_ADMIN_HOST; default 127.0.0.1 (loopback only). */
  host: string;
}

/** Where signing keys come from and how staged rotation is timed (README "Keys"). */
export interface KeySettings {
  /** Key files or PKCS#12 keystores outside the keys folder. */
  files: string[];
  pemPassphrase: string | undefined;
  keystorePassword: string | undefined;
  keyPassword: string | undefined;
  primaryAlias: string | undefined;
  idTokenAlg: string;
  /** Cache-Control max-age of the JWKS. */
  jwksMaxAgeSeconds: number;
  /** How often a running server re-reads the keys folder. */
  checkSeconds: number;
  /** A rotated-in key signs only this long after it is published. */
  activationDelaySeconds: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const NODE_ENVS = ['development', 'production', 'test'] as const;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export const DEFAULT_CONFIG_FILE = path.join('config', 'latchkey.yaml');

/** Reads the environment; each problem names the variable (never a secret value). */
export function readEnv(env: Environment, cwd: string = process.cwd()): EnvSettings {
  const value = (name: string) => {
    const raw = env[name]?.trim();
    return raw ? raw : undefined;
  };
  const nodeEnv = oneOf('NODE_ENV', value('NODE_ENV') ?? 'development', NODE_ENVS);
  const port = integer('PORT', value('PORT'), 3000, 1, 65_535);
  const host = value('HOST') ?? 'localhost';
  const issuer = issuerUrl(value('LATCHKEY_ISSUER') ?? `http://localhost:${port}`, nodeEnv);

  const databaseUrl = value('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\/./.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', 'must be a postgres:// or postgresql:// URL (leave it unset for the embedded database)');
  }

  const keycloakPathPrefix = value('LATCHKEY_KEYCLOAK_PATH_PREFIX');
  if (keycloakPathPrefix !== undefined && !PATH_PREFIX.test(keycloakPathPrefix)) {
    throw new ConfigError('LATCHKEY_KEYCLOAK_PATH_PREFIX', 'a path such as /auth: one to four segments of letters, digits, ".", "_", "~" and "-"');
  }

  const configValue = value('LATCHKEY_CONFIG');
  const cookieKeys = value('LATCHKEY_COOKIE_KEYS')?.split(',').map((k) => k.trim()).filter(Boolean);
  if (cookieKeys && (cookieKeys.length === 0 || cookieKeys.some((k) => k.length < 32))) {
    throw new ConfigError('LATCHKEY_COOKIE_KEYS', 'comma-separated keys of at least 32 characters each');
  }

  return {
    nodeEnv,
    port,
    host,
    issuer,
    databaseUrl,
    dataDir: path.resolve(cwd, value('LATCHKEY_DATA_DIR') ?? 'data'),
    keysDir: path.resolve(cwd, value('LATCHKEY_KEYS_DIR') ?? 'keys'),
    configFile: path.resolve(cwd, configValue ?? DEFAULT_CONFIG_FILE),
    configFileExplicit: configValue !== undefined,
    trustProxy: boolean('LATCHKEY_TRUST_PROXY', value('LATCHKEY_TRUST_PROXY'), false),
    keycloakPathPrefix,
    logLevel: oneOf('LOG_LEVEL', value('LOG_LEVEL') ?? 'info', LOG_LEVELS),
    logRequests: boolean('LATCHKEY_LOG_REQUESTS', value('LATCHKEY_LOG_REQUESTS'), false),
    cookieKeys,
    dbPoolMax: integer('DATABASE_POOL_MAX', value('DATABASE_POOL_MAX'), 10, 1, 200),
    dbConnectTimeoutMs: integer('DATABASE_CONNECT_TIMEOUT_MS', value('DATABASE_CONNECT_TIMEOUT_MS'), 3000, 100, 120_000),
    sweepIntervalSeconds: integer('LATCHKEY_SWEEP_INTERVAL_SECONDS', value('LATCHKEY_SWEEP_INTERVAL_SECONDS'), 60, 1, 86_400),
    keys: keySettings(value, cwd),
    admin: adminListener(value, port),
    metrics: onOff('LATCHKEY_METRICS', value('LATCHKEY_METRICS'), true)
      ? { clientLabels: onOff('LATCHKEY_METRICS_CLIENT_LABELS', value('LATCHKEY_METRICS_CLIENT_LABELS'), false) }
      : undefined,
    audit: {
      enabled: onOff('LATCHKEY_AUDIT', value('LATCHKEY_AUDIT'), true),
      retentionDays: integer('LATCHKEY_AUDIT_RETENTION_DAYS', value('LATCHKEY_AUDIT_RETENTION_DAYS'), 90, 1, 36_500),
    },
  };
}

/** The admin listener, or undefined with LATCHKEY_ADMIN_PORT=off; never on the public port. */
function adminListener(value: (name: string) => string | undefined, publicPort: number): AdminListenerSettings | undefined {
  const raw = value('LATCHKEY_ADMIN_PORT');
  const host = value('LATCHKEY_ADMIN_HOST') ?? '127.0.0.1';
  if (raw !== undefined && /^off$/i.test(raw)) return undefined;
  const port = integer('LATCHKEY_ADMIN_PORT', raw, 3001, 1, 65_535);
  if (port === publicPort) {
    throw new ConfigError('LATCHKEY_ADMIN_PORT', 'must differ from PORT: the admin API has a listener of its own (or "off")');
  }
  return { port, host };
}

function keySettings(value: (name: string) => string | undefined, cwd: string): KeySettings {
  const jwksMaxAgeSeconds = integer('LATCHKEY_JWKS_MAX_AGE_SECONDS', value('LATCHKEY_JWKS_MAX_AGE_SECONDS'), 300, 0, 86_400);
  const checkSeconds = integer('LATCHKEY_KEY_CHECK_SECONDS', value('LATCHKEY_KEY_CHECK_SECONDS'), 60, 1, 3600);
  const minimumDelay = jwksMaxAgeSeconds + checkSeconds;
  const activationDelaySeconds = integer('LATCHKEY_KEY_ACTIVATION_DELAY_SECONDS', value('LATCHKEY_KEY_ACTIVATION_DELAY_SECONDS'), Math.max(900, 2 * minimumDelay), 0, 30 * 86_400);
  if (activationDelaySeconds < minimumDelay) {
    throw new ConfigError('LATCHKEY_KEY_ACTIVATION_DELAY_SECONDS', `must be at least LATCHKEY_JWKS_MAX_AGE_SECONDS + LATCHKEY_KEY_CHECK_SECONDS (${minimumDelay}), so that caches hold a new key before it signs`);
  }
  return {
    files: (value('LATCHKEY_KEY_FILES') ?? '').split(',').map((f) => f.trim()).filter(Boolean).map((f) => path.resolve(cwd, f)),
    pemPassphrase: secret('LATCHKEY_KEY_PASSPHRASE', value, cwd),
    keystorePassword: secret('LATCHKEY_KEYSTORE_PASSWORD', value, cwd),
    keyPassword: secret('LATCHKEY_KEY_PASSWORD', value, cwd),
    primaryAlias: value('LATCHKEY_KEYSTORE_ALIAS'),
    idTokenAlg: oneOf('LATCHKEY_ID_TOKEN_ALG', value('LATCHKEY_ID_TOKEN_ALG') ?? 'RS256', SIGNING_ALGORITHMS),
    jwksMaxAgeSeconds,
    checkSeconds,
    activationDelaySeconds,
  };
}

/**
 * A secret from NAME or from the file NAME_FILE names (Docker/Kubernetes
 * secrets); a trailing newline in the file is not part of the secret.
 */
function secret(name: string, value: (name: string) => string | undefined, cwd: string): string | undefined {
  const direct = value(name);
  const file = value(`${name}_FILE`);
  if (direct !== undefined && file !== undefined) throw new ConfigError(`${name}_FILE`, `set either ${name} or ${name}_FILE, not both`);
  if (file === undefined) return direct;
  try {
    return readFileSync(path.resolve(cwd, file), 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new ConfigError(`${name}_FILE`, `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/**
 * OIDC Core §2: the issuer is an https URL without query or fragment; http is
 * accepted for development and for loopback hosts (a proxy in front of a
 * local container).
 */
function issuerUrl(raw: string, nodeEnv: string): string {
  if (!URL.canParse(raw)) throw new ConfigError('LATCHKEY_ISSUER', 'must be an absolute URL such as https://id.example.com');
  const url = new URL(raw);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('LATCHKEY_ISSUER', 'must be an https: URL');
  if (url.search || url.hash || raw.includes('?') || raw.includes('#')) throw new ConfigError('LATCHKEY_ISSUER', 'must not have a query or fragment');
  if (url.username || url.password) throw new ConfigError('LATCHKEY_ISSUER', 'must not contain user information');
  if (nodeEnv === 'production' && url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    throw new ConfigError('LATCHKEY_ISSUER', 'must use https when NODE_ENV=production (OpenID Connect Core §2)');
  }
  return url.href.replace(/\/+$/, '');
}

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number from ${min} to ${max}`);
  const parsed = Number(raw);
  if (parsed < min || parsed > max) throw new ConfigError(name, `must be a whole number from ${min} to ${max}`);
  return parsed;
}

function boolean(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new ConfigError(name, 'must be true or false');
}

function onOff(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  if (/^on$/i.test(raw)) return true;
  if (/^off$/i.test(raw)) return false;
  throw new ConfigError(name, 'must be on or off');
}

function oneOf<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError(name, `must be one of ${allowed.join(', ')}`);
  return raw as T;
}
