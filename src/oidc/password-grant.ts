import type Provider from 'oidc-provider';
import type { Account, Configuration, TokenEndpointGrantContext } from 'oidc-provider';
import type { PasswordAttempt, SignInOutcome } from '../accounts/password-sign-in.ts';
import { InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget, TooManySignInAttemptsError, UnauthorizedClient } from '../errors/index.ts';

/**
 * The resource owner password credentials grant (RFC 6749 §4.3), for the
 * scripts and legacy applications that IFS Cloud (Keycloak's "direct access
 * grants") and InterSystems IAM setups drive with it. RFC 9700 §2.4 says it
 * MUST NOT be used: the client sees the password, and no second factor or
 * consent page can stand in between. So it is opt-in twice:
 *
 * - only a client that lists `password` in its grant_types may use it (the
 *   engine refuses any other with unauthorized_client, src/oidc/engine-steps.ts);
 * - only a confidential client, unless the realm sets
 *   `allow_password_grant_for_public_clients` (as Keycloak allows direct
 *   access grants per public client).
 *
 * The password is checked exactly as on the sign-in page, with the same
 * brakes (src/accounts/password-sign-in.ts). An unknown user, a wrong
 * password and a disabled account get one answer, invalid_grant, after the
 * same argon2id work. What follows is what the engine does for a code
 * (lib/helpers/grant_common.js issueTokens) with the user's sign-in in the
 * place of the code: a Grant for the scopes asked, an access token (for the
 * resource server named or defaulted to, JWT where its policy says), a
 * refresh token under the same rules as the code flow, and an ID token when
 * `openid` is asked. Every write is in the request's unit of work.
 *
 * Requests are judged before the password is, so a malformed one costs no
 * argon2id: an unknown or disallowed scope is invalid_scope (a refusal, as
 * for client credentials, not a silent drop), an unknown resource
 * invalid_target.
 */
export const PASSWORD_GRANT = 'password';
/**
 * The sign-in a password grant made, as ctx.oidc entity, in the place a code
 * or refresh token holds it: where JWT access tokens find auth_time (RFC
 * 9068 §2.2; src/oidc/structured-access-tokens.ts).
 */
export const PASSWORD_SIGN_IN_ENTITY = 'PasswordSignIn';

const PARAMETERS = ['username', 'password', 'scope', 'resource'] as const;
/** As the sign-in form takes them. */
const MAX_USERNAME_LENGTH = 256;
const MAX_PASSWORD_LENGTH = 1024;

type ResourceIndicators = NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;
type GrantContext = TokenEndpointGrantContext<{ username?: string; password?: string }>;

export interface PasswordGrantDeps {
  realm: string;
  allowPublicClients: boolean;
  signIn: (attempt: PasswordAttempt) => Promise<SignInOutcome>;
  /** The realm's scope set, as the provider holds it (live: it grows as clients and resource servers load). */
  scopes: { readonly set: ReadonlySet<string> };
  /** The provider's own RFC 8707 configuration (src/oidc/resource-indicators.ts). */
  resources: Pick<ResourceIndicators, 'defaultResource' | 'getResourceServerInfo'>;
  findAccount: (ctx: GrantContext, sub: string) => Promise<Account | undefined>;
  /** The provider's issueRefreshToken rule, asked with the scopes granted. */
  issueRefreshToken: (ctx: GrantContext, client: GrantContext['oidc']['client'], source: { scopes: Set<string> }) => Promise<boolean>;
}

export function installPasswordGrant(provider: Provider, deps: PasswordGrantDeps): void {
  provider.registerGrantType(PASSWORD_GRANT, (ctx: GrantContext) => passwordGrant(provider, deps, ctx), PARAMETERS);
}

async function passwordGrant(provider: Provider, deps: PasswordGrantDeps, ctx: GrantContext): Promise<void> {
  const { client, params } = ctx.oidc;
  if (client.clientAuthMethod === 'none' && !deps.allowPublicClients) {
    throw new UnauthorizedClient('public clients may not use the password grant in this realm');
  }
  const username = required(params.username, 'username', MAX_USERNAME_LENGTH);
  const password = required(params.password, 'password', MAX_PASSWORD_LENGTH);
  const target = await resourceFor(deps, ctx, params.resource);
  const scopes = requestedScopes(deps, client, params.scope, target);

  const outcome = await deps.signIn({ realm: deps.realm, login: username, password, ip: ctx.ip });
  if (outcome.kind === 'braked') {
    ctx.set('retry-after', String(outcome.retryAfter));
    throw new TooManySignInAttemptsError(outcome.retryAfter);
  }
  // One answer for an unknown user, a wrong password and a disabled account.
  if (outcome.kind === 'refused') throw new InvalidGrant('invalid username or password');
  const account = await deps.findAccount(ctx, outcome.user.id);
  if (!account) throw new InvalidGrant('invalid username or password');
  ctx.oidc.entity('Account', account);
  const authTime = Math.floor(Date.now() / 1000);
  ctx.oidc.entity(PASSWORD_SIGN_IN_ENTITY, { authTime, amr: ['pwd'] });

  const grant = new provider.Grant({ accountId: account.accountId, clientId: client.clientId });
  grant.addOIDCScope([...scopes].filter((scope) => deps.scopes.set.has(scope)));
  const resourceScopes = target ? [...scopes].filter((scope) => target.scopes.has(scope)) : [];
  if (target) grant.addResourceScope(target.identifier, resourceScopes);
  const grantId = await grant.save();
  ctx.oidc.entity('Grant', grant);

  const at = new provider.AccessToken({ accountId: account.accountId, client, grantId, gty: PASSWORD_GRANT });
  if (target) {
    at.resourceServer = target.server;
    at.scope = grant.getResourceScopeFiltered(target.identifier, resourceScopes);
  } else {
    at.scope = grant.getOIDCScopeFiltered(scopes);
  }
  ctx.oidc.entity('AccessToken', at);
  const accessToken = await at.save();

  let refreshToken: string | undefined;
  if (await deps.issueRefreshToken(ctx, client, { scopes })) {
    const rt = new provider.RefreshToken({
      accountId: account.accountId,
      amr: ['pwd'],
      authTime,
      client,
      expiresWithSession: false,
      grantId,
      gty: PASSWORD_GRANT,
      ...(target ? { resource: target.identifier } : {}),
      rotations: 0,
      scope: [...scopes].join(' '),
    });
    ctx.oidc.entity('RefreshToken', rt);
    refreshToken = await rt.save();
  }

  let idToken: string | undefined;
  if (scopes.has('openid')) {
    const claims = await account.claims('id_token', [...scopes].join(' '), {}, []);
    // Without auth_time and amr, as from a code or a refresh (the engine lists neither as a claim here).
    const token = new provider.IdToken({ ...claims, sub: account.accountId }, { ctx });
    // As the engine's conformIdTokenClaims: profile claims go to userinfo when the access token can reach it.
    (token as unknown as { scope: string }).scope = at.aud ? grant.getOIDCScopeFiltered(scopes) : 'openid';
    idToken = await token.issue({ use: 'idtoken' });
  }

  ctx.body = Object.fromEntries(Object.entries({
    access_token: accessToken,
    expires_in: at.expiration,
    id_token: idToken,
    refresh_token: refreshToken,
    scope: at.scope || undefined,
    token_type: at.tokenType,
  }).filter(([, value]) => value !== undefined));
}

function required(value: unknown, name: string, maxLength: number): string {
  if (typeof value !== 'string' || value === '') throw new InvalidRequest(`missing required parameter '${name}'`);
  if (value.length > maxLength) throw new InvalidRequest(`${name} is too long`);
  return value;
}

/**
 * The scopes asked (or, when none are, the client's own, else `openid`),
 * each one the realm knows and the client may ask for.
 */
function requestedScopes(deps: PasswordGrantDeps, client: GrantContext['oidc']['client'], asked: string | undefined, target: Target | undefined): Set<string> {
  const allowList = client.scope === undefined ? undefined : new Set(client.scope.split(' ').filter(Boolean));
  const scopes = new Set((asked ?? client.scope ?? 'openid').split(' ').filter(Boolean));
  for (const scope of scopes) {
    const known = deps.scopes.set.has(scope) || target?.scopes.has(scope);
    if (!known || (allowList && !allowList.has(scope))) throw new InvalidScope('requested scope is not allowed', scope);
  }
  return scopes;
}

interface Target {
  identifier: string;
  scopes: Set<string>;
  server: InstanceType<Provider['ResourceServer']>;
}

/** RFC 8707: the resource named, or the client's default; one at most, and one of the realm's resource servers. */
async function resourceFor(deps: PasswordGrantDeps, ctx: GrantContext, asked: string | string[] | undefined): Promise<Target | undefined> {
  if (Array.isArray(asked)) throw new InvalidTarget('only a single resource indicator value is supported for this grant type');
  const identifier = asked ?? await deps.resources.defaultResource!(ctx, ctx.oidc.client);
  if (identifier === undefined) return undefined;
  if (typeof identifier !== 'string') throw new InvalidTarget('only a single resource indicator value is supported for this grant type');
  const info = await deps.resources.getResourceServerInfo!(ctx, identifier, ctx.oidc.client);
  const server = new ctx.oidc.provider.ResourceServer(identifier, info);
  return { identifier, scopes: new Set(info.scope.split(' ')), server };
}
