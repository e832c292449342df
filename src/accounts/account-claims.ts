import type { StoredUser } from '../store/user.repository.ts';

/** Standard claims grouped by the scope that releases them (OIDC Core §5.4). */
export const CLAIMS_BY_SCOPE = {
  openid: ['sub'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
  email: ['email', 'email_verified'],
} as const;

/** Every claim an account can release; oidc-provider filters by scope and by the claims request. */
export function accountClaims(user: StoredUser): Record<string, unknown> {
  return {
    ...user.claims,
    sub: user.id,
    preferred_username: user.username,
    updated_at: Math.floor(user.updated_at.getTime() / 1000),
    ...(user.email ? { email: user.email, email_verified: user.email_verified } : {}),
  };
}
