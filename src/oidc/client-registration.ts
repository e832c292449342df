import { AsyncLocalStorage } from 'node:async_hooks';
import Provider, { errors, type Adapter, type AdapterPayload, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { PREVIOUS_SECRET, PREVIOUS_SECRET_EXPIRES_AT } from '../clients/client-metadata.ts';
import type { ClientDefinition, ClientService } from '../clients/client-service.ts';
import { generateClientSecret, isStoredSecretForm } from '../clients/client-secrets.ts';
import { describeClientProblem, withIssuedSecretMethod, type ClientProblem, type RegistrationPolicy } from '../config/index.ts';
import { FIELD_RULES, SECRET_AUTH_METHODS } from '../config/client-field-rules.ts';
import { ClientDefinitionError, outageAsProtocolError } from '../errors/index.ts';
import type { InitialAccessTokens } from '../registration/initial-access-tokens.ts';

/**
 * Dynamic client registration (RFC 7591) and its management (RFC 7592) on
 * the engine's own endpoints, wherever the realm's layout puts them
 * (`registration_endpoint` in discovery; Keycloak's
 * clients-registrations/openid-connect in that layout): nothing here knows
 * a path. A registered client is an ordinary client afterwards, judged by
 * the one client rulebook and stored by the client service.
 *
 *   POST (initial access token) ──▶ engine: token found (InitialAccessTokenAdapter)
 *     ──▶ registrationPolicy: realm policy, client rules, defaults filled in ──▶ engine validates
 *     ──▶ ClientAdapter.upsert ──▶ storeRegistration: spend one use (claim), store the client
 *         (secret as a digest) ──▶ engine: registration access token saved (a digest, oidc_payloads)
 *   GET / PUT / DELETE (registration access token) ──▶ the same policy and store on PUT;
 *     the client service removes the client and everything issued to it on DELETE
 *
 * The policy step (the engine's registration `policies`, which the
 * registration access token inherits) knows the request; the adapter's
 * upsert, where the client is stored, does not: what the policy decided
 * reaches it through an AsyncLocalStorage of this module's own, opened
 * around each request of the provider.
 *
 * The engine knows a client's secret only as its stored digest (the client
 * adapter hands it that), so read and update answers leave `client_secret`
 * out: the secret is shown once, in the registration response.
 */
const POLICY = 'latchkey-realm-policy';

/** An administrator's to grant, never a registrant's: introspection or admin rights, roles, lifetimes, an API audience. */
const PRIVILEGED_FIELDS = ['permissions', 'roles', 'ttl', 'default_resource'];
/** RFC 7591 §2: a server ignores metadata it does not understand; these are what the rules understand. */
const UNDERSTOOD_FIELDS = Object.keys(FIELD_RULES).filter((field) => field !== 'client_id' && field !== 'client_secret');
const MAX_PROBLEMS_TOLD = 5;

interface PendingRegistration {
  /** The definition the policy judged, for the adapter to store. */
  definition?: ClientDefinition & { client_id: string };
  creating?: boolean;
  /** The initial access token of a registration, whose use is spent as the client is stored. */
  initialAccessToken?: string | undefined;
}

const pending = new AsyncLocalStorage<PendingRegistration>();

export interface RegistrationDeps {
  realm: string;
  policy: RegistrationPolicy;
  clients: ClientService;
  initialAccessTokens: InitialAccessTokens;
  /** Teaches the realm's live scope set a registered client's scopes, before the engine checks them (provider-factory.ts realmScopes). */
  learnScopes(metadata: Record<string, unknown>): void;
}

export interface ClientRegistration {
  features: Pick<NonNullable<Configuration['features']>, 'registration' | 'registrationManagement'>;
  initialAccessTokenAdapter: Adapter;
  /** The client adapter's writes (src/oidc/client-adapter.ts). */
  clientWrites: { upsert(id: string, metadata: AdapterPayload): Promise<void>; destroy(id: string): Promise<void> };
  install(provider: Provider): void;
}

export function clientRegistration(deps: RegistrationDeps): ClientRegistration {
  return {
    features: {
      registration: {
        enabled: true,
        // Adapter-backed: the tokens the admin API and the CLI issue (src/registration/initial-access-tokens.ts).
        initialAccessToken: true,
        issueRegistrationAccessToken: true,
        // As generated secrets are everywhere else: 256 bits, stored as a keyed digest.
        secretFactory: () => generateClientSecret(),
        policies: { [POLICY]: registrationPolicy(deps) as never },
      },
      // RFC 7592; the token rotates on every update, so a leaked one stops working at the owner's next change.
      registrationManagement: { enabled: deps.policy.management, rotateRegistrationAccessToken: true },
    },
    initialAccessTokenAdapter: new InitialAccessTokenAdapter(deps.realm, deps.initialAccessTokens),
    clientWrites: {
      upsert: (id, metadata) => storeRegistration(deps, id, metadata),
      destroy: async (id) => {
        await guarded(() => deps.clients.remove(deps.realm, id));
      },
    },
    install(provider) {
      provider.use(async function registrationScope(ctx: KoaContextWithOIDC, next: () => Promise<void>) {
        await pending.run({}, next);
        if ((ctx.oidc?.route === 'client' || ctx.oidc?.route === 'client_update') && ctx.status === 200) withoutStoredSecret(ctx);
      });
    },
  };
}

/**
 * The registration policy, run by the engine before its own validation,
 * at registration and at every update: the realm's policy, then the client
 * rules with their defaults (what the setup file and the admin API apply),
 * and the properties replaced by the client as it will be stored, so that
 * the engine validates exactly that.
 */
function registrationPolicy({ realm, policy, clients, learnScopes }: RegistrationDeps) {
  return async function latchkeyRealmPolicy(ctx: KoaContextWithOIDC, properties: Record<string, unknown>): Promise<void> {
    const state = pending.getStore();
    if (!state) throw new Error('registration outside its request scope (src/oidc/client-registration.ts install)');
    const creating = ctx.oidc.route === 'registration';
    const clientId = String(properties['client_id']);
    const given: Record<string, unknown> = {};
    for (const field of UNDERSTOOD_FIELDS) if (properties[field] !== undefined) given[field] = properties[field];

    const refused = PRIVILEGED_FIELDS.filter((field) => given[field] !== undefined)
      .map((field): ClientProblem => ({ field, message: 'set by an administrator only, not at registration' }));
    if (given['jwks_uri'] !== undefined && !policy.allowJwksUri) {
      refused.push({ field: 'jwks_uri', message: 'not accepted at registration in this realm: give the public keys in jwks' });
    }
    if (refused.length) throw refusal(refused);

    // An update without a method keeps the client's (as the admin API's does); a registration picks one as `clients add` does.
    const method = given['token_endpoint_auth_method'] ?? (creating ? undefined : ctx.oidc.client?.metadata()['token_endpoint_auth_method']);
    const { definition, generateSecret } = withIssuedSecretMethod<Record<string, unknown>>({
      ...given, client_id: clientId, ...(method === undefined ? {} : { token_endpoint_auth_method: method }),
    });
    // A client that names no scopes gets those open to registered clients (and can then ask for no other).
    definition['scope'] ??= policy.scopes.join(' ');
    let judged;
    try {
      judged = clients.judge(realm, definition as ClientDefinition, { secretGenerated: generateSecret });
    } catch (error) {
      if (error instanceof ClientDefinitionError) throw refusal(error.problems as ClientProblem[]);
      throw error;
    }
    const outside = policyProblems(judged, policy);
    if (outside.length) throw refusal(outside);

    for (const key of Object.keys(properties)) {
      if (!['client_id', 'client_id_issued_at', 'client_secret', 'client_secret_expires_at'].includes(key)) delete properties[key];
    }
    const { client_id: _id, client_secret: _secret, ...metadata } = judged;
    Object.assign(properties, metadata);
    if (SECRET_AUTH_METHODS.includes(judged.token_endpoint_auth_method)) {
      properties['client_secret'] ??= generateClientSecret();
      properties['client_secret_expires_at'] = 0;
    } else {
      delete properties['client_secret'];
      delete properties['client_secret_expires_at'];
    }
    learnScopes(metadata);
    state.definition = { ...metadata, client_id: clientId };
    state.creating = creating;
    state.initialAccessToken = creating ? ctx.oidc.getAccessToken() : undefined;
  };
}

/** What the realm's policy allows of a client the rules accepted (their defaults included). */
function policyProblems(client: { grant_types: string[]; token_endpoint_auth_method: string; scope?: string | undefined }, policy: RegistrationPolicy): ClientProblem[] {
  const problems: ClientProblem[] = [];
  const grant = client.grant_types.find((type) => !policy.grantTypes.includes(type));
  if (grant) problems.push({ field: 'grant_types', message: `${grant} is not open to registered clients in this realm (allowed: ${policy.grantTypes.join(', ')})` });
  if (!policy.authMethods.includes(client.token_endpoint_auth_method)) {
    problems.push({ field: 'token_endpoint_auth_method', message: `${client.token_endpoint_auth_method} is not open to registered clients in this realm (allowed: ${policy.authMethods.join(', ')})` });
  }
  const scope = (client.scope ?? '').split(' ').find((name) => name && !policy.scopes.includes(name));
  if (scope !== undefined) problems.push({ field: 'scope', message: `a scope outside those open to registered clients in this realm (${policy.scopes.join(' ')})` });
  return problems;
}

/**
 * The engine's invalid_client_metadata, or invalid_redirect_uri when the
 * first problem is a redirect URI's (RFC 7591 §3.2.2; the engine picks the
 * code from the description's start). Fields and rules, never values.
 */
function refusal(problems: readonly ClientProblem[]): Error {
  const ordered = [...problems].sort((a, b) => Number(!a.field.startsWith('redirect_uris')) - Number(!b.field.startsWith('redirect_uris')));
  const told = ordered.slice(0, MAX_PROBLEMS_TOLD).map(describeClientProblem);
  if (ordered.length > MAX_PROBLEMS_TOLD) told.push(`and ${ordered.length - MAX_PROBLEMS_TOLD} more`);
  return new errors.InvalidClientMetadata(told.join('; '));
}

/**
 * The engine's store of a registered or updated client (its client
 * adapter's upsert), after its own validation: a registration spends a use
 * of its initial access token first, in the request's transaction, so that
 * a counted token never registers more clients than its count.
 */
async function storeRegistration({ realm, clients, initialAccessTokens }: RegistrationDeps, id: string, metadata: AdapterPayload): Promise<void> {
  const state = pending.getStore();
  const definition = state?.definition;
  if (!definition || definition.client_id !== id) throw new errors.InvalidRequest('clients are added through registration or the admin API');
  try {
    if (state.creating) {
      if (!state.initialAccessToken || !(await initialAccessTokens.spendUse(realm, state.initialAccessToken))) {
        throw new errors.InvalidToken('initial access token is used up, expired or revoked');
      }
      const secret = typeof metadata.client_secret === 'string' && !isStoredSecretForm(metadata.client_secret) ? metadata.client_secret : undefined;
      await clients.addRegistered(realm, definition, secret);
    } else {
      const { client_id: _id, ...change } = definition;
      await clients.update(realm, id, change);
    }
  } catch (error) {
    if (error instanceof ClientDefinitionError) throw refusal(error.problems as ClientProblem[]);
    throw outageAsProtocolError(error);
  }
}

/**
 * Read and update answers: the engine's `client_secret` there is the stored
 * digest, which no one is shown, nor the previous one a rotation keeps for
 * its overlap (src/clients/client-metadata.ts).
 */
function withoutStoredSecret(ctx: KoaContextWithOIDC): void {
  const {
    client_secret: _digest, client_secret_expires_at: _expiry, [PREVIOUS_SECRET]: _previous, [PREVIOUS_SECRET_EXPIRES_AT]: _until, ...body
  } = ctx.body as Record<string, unknown>;
  ctx.body = body;
}

async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw outageAsProtocolError(error);
  }
}

/**
 * The engine's InitialAccessToken model over the tokens the admin API and
 * the CLI issue: found by value (its digest) while it has a use left and
 * has not expired, carrying the realm's policy. The engine never issues
 * one itself, so writes are refused.
 */
class InitialAccessTokenAdapter implements Adapter {
  readonly #realm: string;
  readonly #tokens: InitialAccessTokens;

  constructor(realm: string, tokens: InitialAccessTokens) {
    this.#realm = realm;
    this.#tokens = tokens;
  }

  async find(value: string): Promise<AdapterPayload | undefined> {
    if (typeof value !== 'string' || value.length === 0 || value.length > 512 || value.includes('\0')) return undefined;
    const token = await guarded(() => this.#tokens.findUsable(this.#realm, value));
    if (!token) return undefined;
    return {
      jti: value,
      kind: 'InitialAccessToken',
      iat: Math.floor(token.created_at.getTime() / 1000),
      exp: Math.floor(token.expires_at.getTime() / 1000),
      policies: [POLICY],
    };
  }

  async upsert(): Promise<void> { throw new errors.InvalidRequest('initial access tokens are issued through the admin API or the CLI'); }
  async destroy(): Promise<void> { throw new errors.InvalidRequest('initial access tokens are revoked through the admin API or the CLI'); }
  async consume(): Promise<void> { /* uses are spent as clients are stored */ }
  async findByUid(): Promise<undefined> { return undefined; }
  async findByUserCode(): Promise<undefined> { return undefined; }
  async revokeByGrantId(): Promise<void> { /* belongs to no grant */ }
}
