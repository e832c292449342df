import type autocannon from 'autocannon';
import { runHttp, runLoop, type HttpRequest, type RunResult } from './load.ts';
import {
  basicAuthorization, clientCredentialsToken, codeFlow, inParallel, JWT_RESOURCES, PASSWORD_USERS, passwordGrant, RS, RSJWT, SVC, WEB1,
} from './oauth-client.ts';
import type { ServerName } from './server-process.ts';

/**
 * The benchmark scenarios. Each runs against a target (Latchkey or the
 * baseline: same clients, same URLs) for a given duration and returns one
 * RunResult; `prepare` runs once per target before its first run and is not
 * timed. A scenario lists the servers it applies to: introspection of JWT
 * access tokens exists only on Latchkey, because the engine refuses it.
 */
export interface Target {
  name: ServerName;
  origin: string;
}

export interface RunOptions {
  duration: number;
  connections: number;
  flowConcurrency: number;
}

export interface Scenario {
  name: string;
  servers: readonly ServerName[];
  /** How it is driven, and anything that qualifies its figures. */
  note: string;
  prepare?(target: Target): Promise<void>;
  run(target: Target, options: RunOptions): Promise<RunResult>;
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const BOTH = ['latchkey', 'baseline'] as const;
const LATCHKEY_ONLY = ['latchkey'] as const;
const INTROSPECTION_POOL = 100;
const USER_TOKEN_POOL = 32;

/** A rotating pool of opaque tokens per target, for introspection; fresh on every prepare. */
const introspectionTokens = new Map<string, string[]>();

export async function prepareIntrospection(target: Target): Promise<void> {
  introspectionTokens.set(target.origin, await inParallel(INTROSPECTION_POOL, 8, () => clientCredentialsToken(target.origin)));
}

/** JWT access tokens (ES256, for urn:bench:es256) to introspect: only Latchkey answers for them. */
async function prepareJwtIntrospection(target: Target): Promise<void> {
  introspectionTokens.set(target.origin, await inParallel(INTROSPECTION_POOL, 8, () => clientCredentialsToken(target.origin, 'api:read', 'urn:bench:es256')));
}

/** Users' access tokens (code flows: each has a grant, which introspection loads too). */
async function prepareUserTokens(target: Target): Promise<void> {
  const flows = await inParallel(USER_TOKEN_POOL, 8, () => codeFlow(target.origin));
  introspectionTokens.set(target.origin, flows.map((tokens) => tokens['access_token']!));
}

export function introspectionRequest(target: Target, auth: readonly [string, string], headers: Record<string, string> = {}): HttpRequest {
  const tokens = introspectionTokens.get(target.origin)!;
  let next = 0;
  return {
    method: 'POST',
    path: '/token/introspection',
    headers: { ...FORM, authorization: basicAuthorization(auth), ...headers },
    setupRequest: (request: autocannon.Request) => ({ ...request, body: `token=${tokens[next++ % tokens.length]}` }),
  };
}

const clientCredentialsRequest = (extra = ''): HttpRequest => ({
  method: 'POST',
  path: '/token',
  headers: { ...FORM, authorization: basicAuthorization(SVC) },
  body: `grant_type=client_credentials&scope=api%3Aread${extra}`,
});

const isActive = (body: string) => body.includes('"active":true');
const hasAccessToken = (body: string) => body.includes('"access_token"');
const hasJwtAccessToken = (body: string) => body.includes('"access_token":"eyJ');

/**
 * Refresh with rotation: every request must carry a refresh token never
 * used before. A pool per target, filled by code flows before each run
 * (untimed): each request takes a token from the pool and its answer puts
 * the rotated one back, so the 64 connections form 64 refresh chains. The
 * tokens in flight when a run stops are lost (already rotated by the server),
 * hence the top-up.
 */
function refreshScenario(): Scenario {
  const pools = new Map<string, string[]>();
  return {
    name: 'refresh',
    servers: BOTH,
    note: 'autocannon; RT pool from code flows, each answer\'s rotated RT feeds the next request (64 chains)',
    async run(target, options) {
      const pool = pools.get(target.origin) ?? [];
      pools.set(target.origin, pool);
      const wanted = options.connections + Math.ceil(options.connections / 4);
      if (pool.length < wanted) {
        const flows = await inParallel(wanted - pool.length, options.flowConcurrency, () => codeFlow(target.origin));
        pool.push(...flows.map((tokens) => tokens['refresh_token']!));
      }
      return runHttp({
        origin: target.origin,
        duration: options.duration,
        connections: options.connections,
        request: {
          method: 'POST',
          path: '/token',
          headers: { ...FORM, authorization: basicAuthorization(WEB1) },
          setupRequest: (request) => ({ ...request, body: `grant_type=refresh_token&refresh_token=${pool.shift() ?? 'pool-exhausted'}` }),
          onResponse: (status, body) => {
            const rotated = status === 200 ? /"refresh_token":"([^"]+)"/.exec(body)?.[1] : undefined;
            if (rotated) pool.push(rotated);
          },
        },
        check: (body) => body.includes('"refresh_token"'),
      });
    },
  };
}

/**
 * The password grant: argon2id per request, so driven like the code flow
 * (a loop at flow concurrency). Each request signs in the next of 16 users,
 * so concurrent requests are never identical (Latchkey checks identical
 * attempts in flight once, src/accounts/password-sign-in.ts).
 */
function passwordGrantScenario(): Scenario {
  return {
    name: 'password_grant',
    servers: BOTH,
    note: `Node loop at flow concurrency; grant_type=password for ${PASSWORD_USERS.length} users in turn, scope openid api:read (argon2id, opaque AT, ID token); the baseline's handler verifies argon2id too`,
    run: (target, options) => {
      let next = 0;
      return runLoop({
        duration: options.duration,
        concurrency: options.flowConcurrency,
        task: async () => { await passwordGrant(target.origin, PASSWORD_USERS[next++ % PASSWORD_USERS.length]!); },
      });
    },
  };
}

function httpScenario(name: string, servers: readonly ServerName[], note: string, request: (target: Target) => HttpRequest,
  check: (body: string) => boolean, prepare?: (target: Target) => Promise<void>): Scenario {
  return {
    name,
    servers,
    note,
    ...(prepare ? { prepare } : {}),
    run: (target, options) => runHttp({
      origin: target.origin, duration: options.duration, connections: options.connections, request: request(target), check,
    }),
  };
}

export function allScenarios(): Scenario[] {
  return [
    httpScenario('client_credentials', BOTH, 'autocannon; opaque token, svc with client_secret_basic, scope api:read',
      () => clientCredentialsRequest(), hasAccessToken),
    httpScenario('introspection', BOTH, `autocannon; rs introspects ${INTROSPECTION_POOL} opaque client_credentials tokens in turn, no token_type_hint`,
      (target) => introspectionRequest(target, RS), isActive, prepareIntrospection),
    httpScenario('introspection_user_token', BOTH, `autocannon; as introspection, of ${USER_TOKEN_POOL} users' access tokens from code flows (each also loads its Grant)`,
      (target) => introspectionRequest(target, RS), isActive, prepareUserTokens),
    refreshScenario(),
    {
      name: 'auth_code_flow',
      servers: BOTH,
      note: 'Node loop at flow concurrency; rps = complete flows/s (authorize, login with argon2id, consent, code → tokens); the baseline verifies argon2id too',
      run: (target, options) => runLoop({
        duration: options.duration,
        concurrency: options.flowConcurrency,
        task: async () => { await codeFlow(target.origin); },
      }),
    },
    {
      name: 'introspection_during_logins',
      servers: BOTH,
      note: 'introspection as above while code flows run at flow concurrency; figures are the introspection\'s (budget: p99 ≤ 2× plain introspection)',
      prepare: prepareIntrospection,
      async run(target, options) {
        const [introspection, flows] = await Promise.all([
          runHttp({ origin: target.origin, duration: options.duration, connections: options.connections, request: introspectionRequest(target, RS), check: isActive }),
          runLoop({ duration: options.duration, concurrency: options.flowConcurrency, task: async () => { await codeFlow(target.origin); } }),
        ]);
        const detail = [`flows ${flows.rps}/s (p99 ${flows.p99_ms} ms)`, introspection.detail, flows.detail].filter(Boolean).join('; ');
        return { ...introspection, errors: introspection.errors + flows.errors, detail };
      },
    },
    httpScenario('discovery', BOTH, 'autocannon; GET /.well-known/openid-configuration',
      () => ({ method: 'GET', path: '/.well-known/openid-configuration' }), (body) => body.includes('"issuer"')),
    httpScenario('jwks', BOTH, 'autocannon; GET /jwks',
      () => ({ method: 'GET', path: '/jwks' }), (body) => body.includes('"keys"')),
    ...Object.entries(JWT_RESOURCES).map(([resource, alg]) =>
      httpScenario(`client_credentials_jwt_${alg.toLowerCase()}`, BOTH,
        `autocannon; JWT access token signed ${alg} (resource=${resource}); Latchkey also stores it by jti digest (budget: ratio ≥ 0.8)`,
        () => clientCredentialsRequest(`&resource=${encodeURIComponent(resource)}`), hasJwtAccessToken)),
    httpScenario('introspection_jwt', LATCHKEY_ONLY,
      `Latchkey only (the engine refuses to introspect JWTs): rs introspects ${INTROSPECTION_POOL} ES256 JWT access tokens in turn; compare with introspection's Latchkey rps (budget: ≥ 0.8 of it)`,
      (target) => introspectionRequest(target, RS), isActive, prepareJwtIntrospection),
    passwordGrantScenario(),
    httpScenario('introspection_jwt_response', BOTH,
      'autocannon; RFC 9701 signed (ES256) introspection answers for the opaque pool, by a resource server registered for them',
      (target) => introspectionRequest(target, RSJWT, { accept: 'application/token-introspection+jwt' }),
      (body) => body.startsWith('eyJ'), prepareIntrospection),
  ];
}
