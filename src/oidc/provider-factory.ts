import Provider, { type Configuration } from 'oidc-provider';
import { CLAIMS_BY_SCOPE, accountClaims } from '../accounts/account-claims.ts';
import { NO_AUDIT, type AuditSink } from '../audit/audit-event.ts';
import { auditEngine, auditPasswordGrantSignIn } from '../audit/engine-audit.ts';
import type { AccountService } from '../accounts/account-service.ts';
import { EXTRA_CLIENT_METADATA, PREVIOUS_SECRET, PREVIOUS_SECRET_EXPIRES_AT, webOriginsOf } from '../clients/client-metadata.ts';
import type { SecretVerifier } from '../clients/client-secrets.ts';
import { algorithmsServedBy, SIGNING_ALGORITHMS } from '../keys/algorithms.ts';
import { isScopeToken } from '../config/index.ts';
import { outageAsProtocolError } from '../errors/index.ts';
import type { KeySet } from '../keys/signing-keys.ts';
import { someClientHasGrantType } from '../store/client.repository.ts';
import type { Db } from '../store/database.ts';
import type { ClientAuthLimiters } from '../rate-limits/client-auth-limiters.ts';
import { AUTHORISATION_SCOPES, authorisationClaims } from './authorisation-claims.ts';
import { ClientAdapter } from './client-adapter.ts';
import type { ClientChanges } from '../clients/client-changes.ts';
import { clientRegistration, type ClientRegistration } from './client-registration.ts';
import type { ClientService } from '../clients/client-service.ts';
import type { RegistrationPolicy } from '../config/index.ts';
import type { InitialAccessTokens } from '../registration/initial-access-tokens.ts';
import { installClientAuthentication } from './client-authentication.ts';
import {
  advertiseGrantTypeWhenUsed, capRefreshTokenAtGrant, introspectionPolicy, refuseUndeclaredClientCredentialsScopes,
} from './engine-steps.ts';
import { engineScopes } from './engine-configuration.ts';
import { installPasswordGrant, PASSWORD_GRANT, type PasswordGrantDeps } from './password-grant.ts';
import { PayloadAdapter } from './payload-adapter.ts';
import { resourceIndicators, type ResourceServerDirectory } from './resource-indicators.ts';
import { JwtVerifier, verificationKeysOf } from './jwt-verifier.ts';
import {
  admitJwtsAtIntrospectionAndRevocation, authenticationClaims, JwtAwareAdapter, JwtHandles, recordJwtAccessTokens,
  refuseAccessTokensAsIdTokenHints,
} from './structured-access-tokens.ts';
import { vendorShapes } from './vendor-shapes.ts';
import type { PayloadLookups } from './payload-lookups.ts';
import type { RealmLayout } from './realm-layouts.ts';
import { revocationPolicy } from './revocation-policy.ts';
import { lifetimeFor, type TokenLifetimes } from './token-lifetimes.ts';
import { unitOfWorkMiddleware } from './unit-of-work-middleware.ts';

export interface RealmSettings {
  name: string;
  /** Public issuer URL of this realm, exactly as it appears in tokens and discovery. */
  issuer: string;
  /** Path (ending in `/`) where the realm's routes are mounted, e.g. `/` or `/realms/acme/`. */
  mountPath: string;
  /** Its endpoints' paths and its tokens' shapes (src/oidc/realm-layouts.ts). */
  layout: RealmLayout;
  lifetimes: TokenLifetimes;
  /** Default branding of the realm's pages (src/http/branding.ts), which clients override. */
  branding?: Record<string, string | undefined> | undefined;
  /** Public clients listing `password` may use it (src/oidc/password-grant.ts); confidential ones only otherwise. */
  passwordGrantForPublicClients?: boolean | undefined;
  /** Dynamic client registration's policy (src/config/registration-policy.ts); off when absent. */
  registration?: RegistrationPolicy | undefined;
}

/** HTML that oidc-provider renders itself; supplied by the HTTP layer. */
export interface ProviderPages {
  renderError: NonNullable<Configuration['renderError']>;
  logoutSource: NonNullable<NonNullable<NonNullable<Configuration['features']>['rpInitiatedLogout']>['logoutSource']>;
  postLogoutSuccessSource: NonNullable<NonNullable<NonNullable<Configuration['features']>['rpInitiatedLogout']>['postLogoutSuccessSource']>;
}

export interface ProviderDeps {
  db: Db;
  realm: RealmSettings;
  keys: KeySet;
  cookieKeys: readonly string[];
  /** The server's persistent digest key; the keycloak layout derives its refresh-token JWT key from it. */
  digestKey: Buffer;
  accounts: AccountService;
  secrets: SecretVerifier;
  pages: ProviderPages;
  trustProxy: boolean;
  clientCacheTtlMs?: number;
  /** Changes this process made to clients, so that its client cache drops them at once (made once per process). */
  clientChanges?: ClientChanges | undefined;
  /** Scopes the realm's clients declare, known before the first request (listed in discovery). */
  knownScopes?: readonly string[];
  /**
   * Brakes on failed client authentication. Made once per process by the
   * composition root: a provider is rebuilt on every key rotation, the
   * brakes must not be.
   */
  clientAuthLimiters: ClientAuthLimiters;
  /**
   * The realm's coalesced reads and prefetched Grants and Sessions, shared
   * by all its models' adapters. Made once per realm by the composition
   * root, like the brakes: what one provider forgets (a revoked grant) the
   * next one, after a key rotation, must not answer from its prefetch.
   */
  lookups: PayloadLookups;
  /** The realm's resource servers (RFC 8707), looked up as tokens are requested. */
  resourceServers: ResourceServerDirectory;
  /** A person's password checked with the sign-in brakes, for the password grant (src/accounts/password-sign-in.ts). */
  signIn: PasswordGrantDeps['signIn'];
  /** For dynamic client registration, where the realm enables it (src/oidc/client-registration.ts). */
  registration?: { clients: ClientService; initialAccessTokens: InitialAccessTokens } | undefined;
  /** Where the realm's audit events go (src/audit/); none when absent. */
  audit?: AuditSink | undefined;
}

const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'email'];
const ACCESS_TOKEN_MODELS = new Set(['AccessToken', 'ClientCredentials']);

/**
 * oidc-provider only accepts client `scope` metadata drawn from its `scopes`
 * option, and only checks requested scopes against a client's allow-list
 * when they are in that option. Clients live in the database and can be
 * added at run time, so the realm's scope set is live: it holds every scope
 * any client of the realm declares, added as clients are loaded.
 */
function realmScopes(known: readonly string[]): { set: ReadonlySet<string>; learn(metadata: Record<string, unknown>): void; adopt(engine: Set<string>): void } {
  let set = new Set([...OIDC_SCOPES, ...known.filter(isScopeToken)]);
  return {
    get set() { return set; },
    learn(metadata) {
      if (typeof metadata['scope'] !== 'string') return;
      for (const scope of metadata['scope'].split(' ')) if (isScopeToken(scope)) set.add(scope);
    },
    /** From now on, learn into the engine's own copy of the set (src/oidc/engine-configuration.ts). */
    adopt(engine) {
      for (const scope of set) engine.add(scope);
      set = engine;
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
  const registration = realm.registration === undefined ? undefined : registrationFor(realm.name, realm.registration, deps.registration, scopes.learn);
  const clientAdapter = new ClientAdapter(db, realm.name, {
    ttlMs: deps.clientCacheTtlMs ?? 5_000, onLoad: scopes.learn, changes: deps.clientChanges, writes: registration?.clientWrites,
  });
  const ttl = (kind: keyof TokenLifetimes) =>
    (_ctx: unknown, _token: unknown, client?: { ttl?: unknown }) => lifetimeFor(kind, realm.lifetimes, client?.ttl);
  // An access token for a resource server lives as long as its policy says, when it says (src/oidc/resource-indicators.ts).
  const accessTokenTtl = (kind: 'access_token' | 'client_credentials') =>
    (_ctx: unknown, token: { resourceServer?: { accessTokenTTL?: number } } | undefined, client?: { ttl?: unknown }) =>
      token?.resourceServer?.accessTokenTTL ?? lifetimeFor(kind, realm.lifetimes, client?.ttl);

  const jwtHandles = new JwtHandles();
  // One per provider, shared by the access-token models' adapters: a key rotation builds a new provider, and with it a new verifier.
  const jwtVerifier = new JwtVerifier(verificationKeysOf(realm.issuer, deps.keys));

  const { defaultAudience } = realm.layout;
  const resources = resourceIndicators(realm, deps.resourceServers, {
    signingAlgs: deps.keys.signingAlgs,
    onLoad: (server) => scopes.learn({ scope: server.scopes.join(' ') }),
    // Keycloak and Okta sign their access tokens with RS256 (Okta only ever does).
    layoutAudience: defaultAudience === undefined ? undefined : {
      identifier: URL.canParse(defaultAudience) ? defaultAudience : realm.issuer,
      audience: defaultAudience,
      scopes: () => new Set([...scopes.set, ...AUTHORISATION_SCOPES]),
      algorithm: deps.keys.signingAlgs.includes('RS256') ? 'RS256' : deps.keys.idTokenAlg,
    },
  });
  // Accounts are read inside the engine as its adapters are: an outage there is the engine's 503, not its 500.
  const findActiveUser = (accountId: string) => deps.accounts.findActive(realm.name, accountId).catch((error: unknown) => {
    throw outageAsProtocolError(error);
  });
  const findAccount: NonNullable<Configuration['findAccount']> = async (_ctx, sub) => {
    const user = await findActiveUser(sub);
    if (!user) return undefined;
    return { accountId: user.id, claims: async (_use, scope) => accountClaims(user, scope) as { sub: string } };
  };
  // IFS/Keycloak behaviour: a client allowed the refresh_token grant gets one
  // without asking for offline_access, unless it opts into requiring it.
  const issueRefreshToken = async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean; metadata(): Record<string, unknown> }, source: { scopes: Set<string> }) =>
    client.grantTypeAllowed('refresh_token')
    && (!client.metadata()['refresh_token_requires_offline_access'] || source.scopes.has('offline_access'));

  const withAuthorisation = authorisationClaims(findActiveUser);
  // Keycloak's and Okta's claims, refresh-token form and quirks (src/oidc/vendor-shapes.ts).
  const vendor = vendorShapes(realm.layout, { issuer: realm.issuer, digestKey: deps.digestKey });

  const refreshTokenTtl = capRefreshTokenAtGrant((client) => lifetimeFor('refresh_token', realm.lifetimes, client?.ttl));

  const configuration: Configuration = {
    // Persistence in PostgreSQL/PGlite; the in-memory fallback would lose everything on restart.
    // Access tokens may be JWTs, which stay introspectable and revocable (src/oidc/structured-access-tokens.ts).
    adapter: (model: string) => {
      if (model === 'Client') return clientAdapter;
      // Registration's tokens, in realms that enable it; registration access tokens are stored like other tokens, as digests.
      if (model === 'InitialAccessToken' && registration) return registration.initialAccessTokenAdapter;
      const payloads = new PayloadAdapter(db, realm.name, model, { lookups: deps.lookups });
      if (ACCESS_TOKEN_MODELS.has(model)) return new JwtAwareAdapter(payloads, jwtHandles, jwtVerifier);
      if (model !== 'RefreshToken') return payloads;
      // Asked about every token presented at introspection and revocation, JWTs included; it holds none
      // (Keycloak's layout hands refresh tokens out as JWTs and takes them back only so).
      return vendor.refreshTokenAdapter(payloads, jwtHandles) ?? new JwtAwareAdapter(payloads, jwtHandles, undefined);
    },

    // Persistent keys from disk; never oidc-provider's public development keystore.
    // Keys that do not sign (staged, retired, secondary) carry key_ops [verify], so the engine never picks them.
    jwks: { keys: deps.keys.published.map((k) => k.jwk) as NonNullable<Configuration['jwks']>['keys'] },

    // Persistent, shared cookie keys so sessions survive restarts and work across instances.
    cookies: {
      keys: [...deps.cookieKeys],
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },

    // roles and groups reach ID tokens too, whatever the engine's conformIdTokenClaims keeps for userinfo
    // (OIDC Core §5.4 speaks of profile, email, address and phone only); accountClaims gives them only with their scope.
    claims: { ...CLAIMS_BY_SCOPE, openid: ['sub', ...AUTHORISATION_SCOPES] } as unknown as Configuration['claims'],
    scopes: scopes.set,

    // JWT access tokens (RFC 9068) carry auth_time, acr and sid where a user signed in; Okta's `sub` is the login.
    formats: {
      customizers: {
        jwt: async (ctx, token, jwt) => {
          await authenticationClaims(ctx, token, jwt);
          vendor.customizeJwt(token as never, jwt.payload as Record<string, unknown>);
        },
      },
    },

    // Requested client_credentials scopes are refused, not dropped (src/oidc/engine-steps.ts);
    // then roles and groups with their scopes (src/oidc/authorisation-claims.ts).
    // and the claims of the layout's vendor (src/oidc/keycloak-shapes.ts, src/oidc/okta-shapes.ts).
    extraTokenClaims: async (ctx, token) => {
      await refuseUndeclaredClientCredentialsScopes(ctx, token);
      const authorisation = await withAuthorisation(ctx, token);
      const vendorClaims = await vendor.accessTokenClaims(ctx, token as never, findActiveUser);
      return authorisation || vendorClaims ? { ...vendorClaims, ...authorisation } : undefined;
    },

    findAccount,

    interactions: { url: (_ctx, interaction) => `${realm.mountPath}interaction/${interaction.uid}` },
    // The layout's endpoint paths (Keycloak's, Okta's or the engine's own).
    routes: realm.layout.routes,

    features: {
      // Real login and consent pages live in the HTTP layer.
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // RFC 7662 with a deliberate policy instead of the permissive default (src/oidc/engine-steps.ts).
      introspection: { enabled: true, allowedPolicy: introspectionPolicy },
      // RFC 7009: own tokens only; another confidential client's attempt is invalid_request, a public one's a no-op.
      revocation: { enabled: true, allowedPolicy: revocationPolicy },
      // RFC 9701: a resource server that sends Accept: application/token-introspection+jwt gets a signed answer.
      jwtIntrospection: { enabled: true },
      userinfo: { enabled: true },
      // RFC 8707: tokens for the realm's resource servers, JWTs where their policy says so (RFC 9068).
      resourceIndicators: resources,
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: deps.pages.logoutSource,
        postLogoutSuccessSource: deps.pages.postLogoutSuccessSource,
      },
      // RFC 7591/7592 where the realm's setup enables it, with initial access tokens (src/oidc/client-registration.ts).
      ...registration?.features,
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
      introspectionSigningAlgValues: publishedAlgs(deps.keys) as SigningAlgs,
      clientAuthSigningAlgValues: [...SIGNING_ALGORITHMS],
    },
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: deps.keys.idTokenAlg as SigningAlgs[number],
      // RFC 9701 §6: RS256 unless the client registered another.
      introspection_signed_response_alg: 'RS256',
    },
    extraClientMetadata: { properties: [...EXTRA_CLIENT_METADATA, PREVIOUS_SECRET, PREVIOUS_SECRET_EXPIRES_AT] },

    // Rotate every refresh token for every client; replay of a rotated one revokes the grant.
    rotateRefreshToken: true,
    issueRefreshToken: (ctx, client, code) => issueRefreshToken(ctx, client, code),

    ttl: {
      AccessToken: accessTokenTtl('access_token'),
      ClientCredentials: accessTokenTtl('client_credentials'),
      RefreshToken: refreshTokenTtl,
      IdToken: ttl('id_token'),
      AuthorizationCode: ttl('authorization_code'),
      Session: () => realm.lifetimes.session,
      Grant: () => realm.lifetimes.grant,
      Interaction: () => realm.lifetimes.interaction,
    } as Configuration['ttl'],

    renderError: deps.pages.renderError,

    // CORS: the engine's rule (a public client at every endpoint it calls, any client at userinfo), with the
    // client's `web_origins` (Keycloak's webOrigins) where it declares them instead of its redirect origins.
    clientBasedCORS: (ctx, origin, client) => {
      if (origin === 'null') return false;
      if (ctx.oidc.route !== 'userinfo' && client.clientAuthMethod !== 'none') return false;
      return webOriginsOf(client as unknown as Parameters<typeof webOriginsOf>[0]).has(origin);
    },
  };

  const provider = new Provider(realm.issuer, configuration);
  scopes.adopt(engineScopes(provider));
  // Behind a TLS-terminating proxy only when told so (RFC 9700 §4.13).
  provider.proxy = deps.trustProxy;
  // One hop, as in the Fastify app (src/http/build-app.ts): ctx.ip is the address the proxy saw.
  provider.maxIpsCount = 1;
  // First middleware, so it wraps everything else: all writes of a request commit together or not at all.
  provider.use(unitOfWorkMiddleware(() => db.unitOfWork(), deps.pages.renderError));

  // Hashes stand in for secrets; failures cost and are braked alike whether
  // the client exists or not (src/oidc/client-authentication.ts).
  recordJwtAccessTokens(provider);
  admitJwtsAtIntrospectionAndRevocation(provider, jwtHandles);
  refuseAccessTokensAsIdTokenHints(provider);
  vendor.install(provider, jwtHandles);

  // RFC 6749 §4.3, opt-in per client; discovery lists it only where a client has it (src/oidc/engine-steps.ts).
  installPasswordGrant(provider, {
    realm: realm.name,
    allowPublicClients: realm.passwordGrantForPublicClients ?? false,
    signIn: (attempt) => deps.signIn(attempt).then((outcome) => {
      auditPasswordGrantSignIn(provider, attempt.login, outcome);
      return outcome;
    }, (error: unknown) => { throw outageAsProtocolError(error); }),
    scopes,
    resources,
    findAccount: findAccount as PasswordGrantDeps['findAccount'],
    issueRefreshToken,
  });
  advertiseGrantTypeWhenUsed(provider, PASSWORD_GRANT, () => someClientHasGrantType(db, realm.name, PASSWORD_GRANT));

  registration?.install(provider);

  installClientAuthentication(provider, {
    realm: realm.name, secrets: deps.secrets, limiters: deps.clientAuthLimiters, renderError: deps.pages.renderError,
  });
  // Tokens, reuse, client authentication failures and revocations, as the engine reports them (src/audit/engine-audit.ts).
  auditEngine(provider, { realm: realm.name, audit: deps.audit ?? NO_AUDIT, afterCommit: (effect) => db.afterCommit(effect) });

  return provider;
}

function registrationFor(
  realm: string,
  policy: RegistrationPolicy,
  services: ProviderDeps['registration'],
  learnScopes: (metadata: Record<string, unknown>) => void,
): ClientRegistration {
  if (!services) throw new Error(`realm ${realm} enables registration, and its provider was given no client service`);
  return clientRegistration({ realm, policy, clients: services.clients, initialAccessTokens: services.initialAccessTokens, learnScopes });
}

function publishedAlgs(keys: KeySet): string[] {
  return [...new Set(keys.published.flatMap((k) => algorithmsServedBy(k.alg)))];
}

type SigningAlgs = NonNullable<NonNullable<Configuration['enabledJWA']>['idTokenSigningAlgValues']>;
