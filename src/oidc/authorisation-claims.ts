import type { Configuration } from 'oidc-provider';
import type { StoredUser } from '../store/user.repository.ts';

/**
 * `roles` and `groups` (RFC 9068 §7.2.1, the SCIM names of RFC 7643) in
 * access tokens: what the APIs of Keycloak, Okta and IFS Cloud users
 * authorise on. A token carries them when its scope holds `roles` or
 * `groups`: a user's from their account, a client's own roles for client
 * credentials (clients have no groups). Every resource server accepts the
 * two scopes (src/oidc/resource-indicators.ts), so a token for an API
 * carries them as a token without audience does.
 *
 * They are written into the token when it is issued, like the rest of it:
 * in a JWT and in the stored record that introspection answers from. A
 * change of roles reaches the next token (a refresh, a new sign-in), not
 * the ones already issued; short access-token lifetimes bound the delay.
 */
export const AUTHORISATION_SCOPES = ['roles', 'groups'] as const;

type ExtraTokenClaims = NonNullable<Configuration['extraTokenClaims']>;

export function authorisationClaims(findUser: (accountId: string) => Promise<StoredUser | undefined>): ExtraTokenClaims {
  return async (ctx, token) => {
    const scopes = new Set((token.scope ?? '').split(' '));
    const roles = scopes.has('roles');
    const groups = scopes.has('groups');
    if (!roles && !groups) return undefined;
    if (token.kind === 'ClientCredentials') {
      if (!roles) return undefined;
      const own = ctx.oidc.client?.metadata()['roles'];
      return { roles: Array.isArray(own) ? [...own] : [] };
    }
    if (token.kind !== 'AccessToken') return undefined;
    const user = await findUser(token.accountId);
    // An account gone or disabled has no tokens left to carry anything (its grants are revoked).
    if (!user) return undefined;
    return { ...(roles ? { roles: [...user.roles] } : {}), ...(groups ? { groups: [...user.groups] } : {}) };
  };
}
