import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { onParsedForm } from './parsed-form.ts';
import type { StoredUser } from '../store/user.repository.ts';

/**
 * Okta's shapes for a realm in the okta layout (src/oidc/realm-layouts.ts),
 * as an Okta custom authorization server issues them and as
 * @okta/jwt-verifier and Okta-integrated gateways read them:
 *
 * - access tokens (always JWTs in this layout, RS256 with `kid`) carry
 *   `ver: 1`, `cid` (the client), `scp` (the scopes as an array), and for a
 *   user `uid` (the account's id) with `sub` the user's login, as Okta's
 *   do; introspection answers the same `sub` and `uid`;
 * - ID tokens carry `ver: 1`; their `sub` stays the account's id, as
 *   Okta's does;
 * - its browser SDK's way of naming a public client at revocation and
 *   introspection is understood (acceptBasicClientIdOnly).
 */

type TokenLike = { kind: string; accountId?: string; scope?: string; clientId?: string };

/** What an Okta access token says beyond RFC 9068's claims, for the engine's extraTokenClaims. */
export async function oktaAccessTokenClaims(
  ctx: KoaContextWithOIDC,
  token: TokenLike,
  findUser: (accountId: string) => Promise<StoredUser | undefined>,
): Promise<Record<string, unknown> | undefined> {
  if (token.kind !== 'AccessToken' && token.kind !== 'ClientCredentials') return undefined;
  const common = { ver: 1, cid: ctx.oidc.client?.clientId ?? token.clientId, scp: (token.scope ?? '').split(' ').filter(Boolean) };
  if (token.kind === 'ClientCredentials' || !token.accountId) return common;
  const user = await findUser(token.accountId);
  if (!user) return undefined;
  // `sub` here reaches introspection answers; the JWT's is set by oktaSubject (the engine writes its own first).
  return { ...common, uid: user.id, sub: user.username };
}

/** The JWT's `sub` as Okta's: the login its record carries, for a user's token. */
export function oktaSubject(token: { kind?: string; extra?: Record<string, unknown> }, payload: Record<string, unknown>): void {
  const login = token.extra?.['sub'];
  if (token.kind === 'AccessToken' && typeof login === 'string' && typeof token.extra?.['uid'] === 'string') payload['sub'] = login;
}

const PUBLIC_CLIENT_ROUTES = ['revocation', 'introspection'];

/**
 * Okta's browser SDK (@okta/okta-auth-js) revokes and introspects for a
 * public client with `Authorization: Basic base64(client_id)`: no colon, no
 * secret, which Okta reads as the client's id. The engine refuses such a
 * header as malformed, so the SDK's signOut() fails. In this layout, at
 * those two endpoints, that header is taken for what it says, a `client_id`
 * with no credentials (as if sent in the form): only a client that takes no
 * secret authenticates that way, any other stays invalid_client.
 */
export function acceptBasicClientIdOnly(provider: Provider): void {
  onParsedForm(provider, PUBLIC_CLIENT_ROUTES, (form, { headers }) => {
    const clientId = clientIdOnly(headers['authorization']);
    if (clientId === undefined || (form['client_id'] !== undefined && form['client_id'] !== clientId)) return;
    form['client_id'] = clientId;
    delete headers['authorization'];
  });
}

function clientIdOnly(authorization: string | undefined): string | undefined {
  const match = /^basic ([A-Za-z0-9+/]+={0,2})$/i.exec(authorization?.trim() ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  // eslint-disable-next-line no-control-regex
  return decoded && !decoded.includes(':') && !/[\x00-\x1f\x7f]/.test(decoded) ? decoded : undefined;
}

type IdTokenPrototype = { issue(options?: { use?: string }): Promise<string>; set(key: string, value: unknown): void };

/** ID tokens with Okta's `ver`. */
export function shapeOktaIdTokens(provider: Provider): void {
  const prototype = (provider.IdToken as unknown as { prototype: IdTokenPrototype }).prototype;
  const issue = prototype.issue;
  prototype.issue = async function oktaIdToken(this: IdTokenPrototype, options) {
    if (options?.use === 'idtoken') this.set('ver', 1);
    return issue.call(this, options);
  };
}
