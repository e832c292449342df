import type { StoredUser } from '../store/user.repository.ts';

/**
 * Claims grouped by the scope that releases them: OIDC Core §5.4's, and
 * `roles` and `groups` (RFC 9068 §7.2.1, the SCIM names of RFC 7643).
 */
export const CLAIMS_BY_SCOPE = {
  openid: ['sub'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
  email: ['email', 'email_verified'],
  roles: ['roles'],
  groups: ['groups'],
} as const;

/**
 * Every claim an account can release for the scopes granted; oidc-provider
 * filters the rest by scope and by the claims request. `roles` and `groups`
 * are given only with their scope: the provider also lets them into ID
 * tokens whatever their scope (src/oidc/provider-factory.ts), so this is
 * where they are held back.
 */
export function accountClaims(user: StoredUser, scope = ''): Record<string, unknown> {
  const granted = new Set(scope.split(' '));
  const { roles: _roles, groups: _groups, ...declared } = user.claims;
  return {
    ...declared,
    sub: user.id,
    preferred_username: user.username,
    updated_at: Math.floor(user.updated_at.getTime() / 1000),
    ...(user.email ? { email: user.email, email_verified: user.email_verified } : {}),
    ...(granted.has('roles') ? { roles: [...user.roles] } : {}),
    ...(granted.has('groups') ? { groups: [...user.groups] } : {}),
  };
}
