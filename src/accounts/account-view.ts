import { parseKeptHash } from '../config/index.ts';
import type { StoredUser } from '../store/user.repository.ts';
import { isCurrentHash } from './password-hasher.ts';

/**
 * What may be shown of a user, wherever it is shown (`latchkey users list
 * --json`, the admin API): everything but the password hash, of which only
 * its kind.
 */
export function accountView(user: StoredUser) {
  return {
    password_storage: passwordStorage(user.password_hash),
    id: user.id,
    username: user.username,
    email: user.email,
    email_verified: user.email_verified,
    disabled: user.disabled,
    roles: user.roles,
    groups: user.groups,
    claims: user.claims,
    created_at: user.created_at,
    updated_at: user.updated_at,
    password_changed_at: user.password_changed_at,
  };
}

export type AccountView = ReturnType<typeof accountView>;

/** `argon2id` (Latchkey's), `none`, or the scheme of a hash kept from Keycloak until the first sign-in (`pbkdf2-sha256`, …). */
function passwordStorage(hash: string): string {
  const kept = parseKeptHash(hash);
  if (isCurrentHash(hash)) return 'argon2id';
  if (!kept) return 'none';
  return kept.scheme === 'pbkdf2' ? `pbkdf2-${kept.digest}` : kept.variant;
}
