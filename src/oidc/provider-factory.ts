import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { CLAIMS_BY_SCOPE, accountClaims } from '../accounts/account-claims.ts';
import type { AccountService } from '../accounts/account-service.ts';
import { EXTRA_CLIENT_METADATA } from '../clients/client-metadata.ts';
import type { SecretVerifier } from '../clients/client-secrets.ts';
import type { KeySet } from '../keys/signing-keys.ts';
import type { Db } from '../store/database.ts';
import type { UnitOfWork } from '../store/unit-of-work.ts';
import type { ClientAuthLimiters } from '../rate-limits/client-auth-limiters.ts';
import { ClientAdapter } from './client-adapter.ts';
import { installClientAuthentication } from './client-authentication.ts';
import { PayloadAdapter } from './payload-adapter.ts';
import { lifetimeFor, type TokenLifetimes } from './token-lifetimes.ts';
import { unitOfWorkMiddleware } from './unit-of-work-middleware.ts';

export interface RealmSettings {
  name: string;
  /** Public issuer URL of this realm, exactly as it appears in tokens and discovery. */
  issuer: string;
  /** Path (ending in `/`) where the realm's routes are mounted, e.g. `/` or `/realms/acme/`. */
  mountPath: string;
  lifetimes: TokenLifetimes;
  /** Default branding of the realm's pages (src/http/branding.ts), which clients override. */
  branding?: Record<string, string | undefined> | undefined;
}

/** HTML that oidc-provider renders itself; supplied by the HTTP layer. */
export interface ProviderPages {
  renderError: NonNullable<Configuration['renderError']>;
  logoutSource: NonNullable<NonNullable<NonNullable<Configuration['features']>['rpInitiatedLogout']>['logoutSource']>;
  postLogoutSuccessSource: NonNullable<NonNullable<NonNullable<Configuration['features']>['rpInitiatedLogout']>['postLogoutSuccessSource']>;
}

export interface ProviderDeps {
  db: Db;
  /** A unit of work per request on `db` (src/store/unit-of-work.ts). */
  unitOfWork: () => UnitOfWork;
  realm: RealmSettings;
  keys: KeySet;
  cookieKeys: readonly string[];
  accounts: AccountService;
  secrets: SecretVerifier;
  pages: ProviderPages;
  trustProxy: boolean;
  clientCacheTtlMs?: number;
  /** Scopes the realm's clients declare, known before the first request (listed in discovery). */
  knownScopes?: readonly string[];
  /**
   * Brakes on failed client authentication. Made once per process by the
   * composition root: a provider is rebuilt on every key rotation, the
   * brakes must not be.
   */
  clientAuthLimiters: ClientAuthLimiters;
}

const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'email'];
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/; // RFC 6749 §3.3

/**
 * oidc-provider only accepts client `scope` metadata drawn from its `scopes`
 * option, and only checks requested scopes against a client's allow-list
 * when they are in that option. Clients live in the database and can be
 * added at run time, so the realm's scope set is live: it holds every scope
 * any client of the realm declares, added as clients are loaded.
 */
function realmScopes(known: readonly string[]): { set: Set<string>; learn(metadata: Record<string, unknown>): void } {
  const set = new Set([...OIDC_SCOPES, ...known.filter((s) => SCOPE_TOKEN.test(s))]);
  return {
    set,
    learn(metadata) {
      if (typeof metadata['scope'] !== 'string') return;
      for (const scope of metadata['scope'].split(' ')) if (SCOPE_TOKEN.test(scope)) set.add(scope);
    },
  };
}

/**
 * The only place that builds a Provider. One Provider per realm: its own
 * issuer, keys, clients and users, all scoped by realm in the database.
 * Every option that differs from oidc-provider's default says why.
 */
export function createProvider(deps: ProviderDeps): Provider {
  const { db, realm } = deps;
  const scopes = realmScopes(deps.knownScopes ?? []);
  const clientAdapter = new ClientAdapter(db, realm.name, { ttlMs: deps.clientCacheTtlMs ?? 5_000, onLoad: scopes.learn });
  const ttl = (kind: keyof TokenLifetimes) =>
    (_ctx: unknown, _token: unknown, client?: { ttl?: unknown }) => lifetimeFor(kind, realm.lifetimes, client?.ttl);

  // A refresh token's lifetime slides with each rotation (idle timeout) but
  // never past its grant's, which is the absolute cap (Keycloak's "SSO
  // Session Max"): a rotated token must not outlive the one it replaces.
  const refreshTokenTtl = (ctx: KoaContextWithOIDC | undefined, token: unknown, client?: { ttl?: unknown }) => {
    const idle = lifetimeFor('refresh_token', realm.lifetimes, client?.ttl);
    const grantExp = (ctx?.oidc?.entities?.Grant as { exp?: number } | undefined)?.exp;
    if (typeof grantExp !== 'number') return idle;
    return Math.max(1, Math.min(idle, grantExp - Math.floor(Date.now() / 1000)));
  };

  const configuration: Configuration = {
    // Persistence in PostgreSQL/PGlite; the in-memory fallback would lose everything on restart.
    adapter: (model: string) => (model === 'Client' ? clientAdapter : new PayloadAdapter(db, realm.name, model)),

    // Persistent keys from disk; never oidc-provider's public development keystore.
    // Keys that do not sign (staged, retired, secondary) carry key_ops [verify], so the engine never picks them.
    jwks: { keys: deps.keys.published.map((k) => k.jwk) as NonNullable<Configuration['jwks']>['keys'] },

    // Persistent, shared cookie keys so sessions survive restarts and work across instances.
    cookies: {
      keys: [...deps.cookieKeys],
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },

    claims: { ...CLAIMS_BY_SCOPE, openid: ['sub'] } as unknown as Configuration['claims'],
    scopes: scopes.set,

    // For client_credentials the engine silently drops requested scopes that
    // no client of the realm declares (and checks only the others against
    // the client's `scope`). ASVS 10.4.11 asks for a refusal instead, so this
    // hook, which runs before the token is stored, compares the scopes as
    // the client sent them with its registered `scope`: invalid_scope.
    extraTokenClaims: async (ctx, token) => {
      if (token.kind === 'ClientCredentials') {
        const sent = (ctx.oidc.body as { scope?: unknown } | undefined)?.scope;
        const requested = typeof sent === 'string' ? sent : token.scope ?? '';
        const allowed = new Set((ctx.oidc.client?.scope ?? '').split(' '));
        const refused = requested.split(' ').find((s) => s && !allowed.has(s));
        if (refused) throw new errors.InvalidScope('requested scope is not allowed', refused);
      }
      return undefined;
    },

    findAccount: async (_ctx, sub) => {
      const user = await deps.accounts.findActive(realm.name, sub);
      if (!user) return undefined;
      return { accountId: user.id, claims: async () => accountClaims(user) as { sub: string } };
    },

    interactions: { url: (_ctx, interaction) => `${realm.mountPath}interaction/${interaction.uid}` },

    features: {
      // Real login and consent pages live in the HTTP layer.
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // RFC 7662 with a deliberate policy instead of the permissive default:
      // a client may introspect its own tokens; a client holding the
      // `introspection` permission (a resource server) any token of the realm.
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) =>
          token.clientId === client.clientId || hasPermission(client, 'introspection'),
      },
      // RFC 7009 with oidc-provider's policy: own tokens only; another
      // confidential client's attempt is invalid_request, a public one's a no-op.
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: deps.pages.logoutSource,
        postLogoutSuccessSource: deps.pages.postLogoutSuccessSource,
      },
    },

    // Only the code flow (RFC 9700 §2.1.2: no implicit, no hybrid).
    responseTypes: ['code'],
    // PKCE (S256 only in oidc-provider 9) for every client, not only public ones (RFC 9700 §2.1.1).
    pkce: { required: () => true },
    // OAuth 2.1: the redirect_uri is always sent, even when only one is registered.
    allowOmittingSingleRegisteredRedirectUri: false,

    // Secrets are stored hashed, so the symmetric methods that need the plain
    // secret as a key (client_secret_jwt) are not offered.
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    enabledJWA: {
      // Only algorithms a published key serves; the engine refuses keys of no use.
      idTokenSigningAlgValues: publishedAlgs(deps.keys) as SigningAlgs,
      userinfoSigningAlgValues: publishedAlgs(deps.keys) as SigningAlgs,
      clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'],
    },
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: deps.keys.idTokenAlg as SigningAlgs[number],
    },
    extraClientMetadata: { properties: [...EXTRA_CLIENT_METADATA] },

    // Rotate every refresh token for every client; replay of a rotated one revokes the grant.
    rotateRefreshToken: true,
    // IFS/Keycloak behaviour: a client allowed the refresh_token grant gets one
    // without asking for offline_access, unless it opts into requiring it.
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token')
      && (!client.metadata()['refresh_token_requires_offline_access'] || code.scopes.has('offline_access')),

    ttl: {
      AccessToken: ttl('access_token'),
      ClientCredentials: ttl('client_credentials'),
      RefreshToken: refreshTokenTtl,
      IdToken: ttl('id_token'),
      AuthorizationCode: ttl('authorization_code'),
      Session: () => realm.lifetimes.session,
      Grant: () => realm.lifetimes.grant,
      Interaction: () => realm.lifetimes.interaction,
    } as Configuration['ttl'],

    renderError: deps.pages.renderError,
  };

  const provider = new Provider(realm.issuer, configuration);
  // Behind a TLS-terminating proxy only when told so (RFC 9700 §4.13).
  provider.proxy = deps.trustProxy;
  // One hop, as in the Fastify app (src/http/build-app.ts): ctx.ip is the address the proxy saw.
  provider.maxIpsCount = 1;
  // First middleware, so it wraps everything else: all writes of a request commit together or not at all.
  provider.use(unitOfWorkMiddleware(deps.unitOfWork, deps.pages.renderError));

  // Hashes stand in for secrets; failures cost and are braked alike whether
  // the client exists or not (src/oidc/client-authentication.ts).
  installClientAuthentication(provider, {
    realm: realm.name, secrets: deps.secrets, limiters: deps.clientAuthLimiters, renderError: deps.pages.renderError,
  });

  return provider;
}

function hasPermission(client: { metadata(): Record<string, unknown> }, permission: string): boolean {
  const granted = client.metadata()['permissions'];
  return Array.isArray(granted) && granted.includes(permission);
}

export { errors };
export type { KoaContextWithOIDC };

function publishedAlgs(keys: KeySet): string[] {
  return [...new Set(keys.published.flatMap((k) => (k.alg === 'RS256' ? ['RS256', 'PS256'] : [k.alg])))];
}

type SigningAlgs = NonNullable<NonNullable<Configuration['enabledJWA']>['idTokenSigningAlgValues']>;
