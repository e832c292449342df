import { createHash, randomUUID } from 'node:crypto';
import { parseKeptHash, sameJson } from '../config/index.ts';
import type { Db } from '../store/database.ts';
import { deleteAccountPayloads } from '../store/oidc-payload.repository.ts';
import { insertUsers, listUsers, updateUser, type StoredUser, type UserFields } from '../store/user.repository.ts';
import { isCurrentHash, NO_PASSWORD, type PasswordHasher } from './password-hasher.ts';

/**
 * A password as a declaration gives it: plain (hashed here with argon2id),
 * or a hash to store as it is — Latchkey's argon2id, or one kept from
 * another system (src/config/kept-password-hashes.ts) until the user's
 * first sign-in replaces it.
 */
export type DeclaredPassword = { plain: string } | { hash: string };

/** An account as the setup file or a Keycloak realm export declares it, already judged by the setup rules. */
export interface DeclaredAccount {
  username: string;
  email: string | null;
  email_verified: boolean;
  disabled: boolean;
  claims: Record<string, unknown>;
  roles: string[];
  groups: string[];
  /** Absent: a new account gets no usable password (NO_PASSWORD); an existing one keeps its own. */
  password?: DeclaredPassword | undefined;
}

export interface AccountOutcomes {
  created: number;
  updated: number;
  unchanged: number;
  /** Of the created ones: how many have no usable password yet. */
  withoutPassword: number;
}

/** Called after each batch: accounts judged and written so far, of how many. */
export type ImportProgress = (done: number, total: number) => void;

/** Accounts judged (and their plain passwords hashed) before the new ones among them are inserted together. */
const BATCH = 1000;
/** Plain passwords hashed at once: the hasher's gate runs two; a few more keep it fed without filling its queue. */
const HASHING_AT_ONCE = 4;

type Plan =
  | { kind: 'create'; row: UserFields & { id: string } }
  | { kind: 'update'; id: string; fields: Partial<UserFields>; revoke: boolean }
  | { kind: 'unchanged' };

/**
 * Brings the realm's accounts in line with a declaration, idempotently:
 * new ones are inserted a thousand per statement, changed ones updated one
 * by one, the rest not written at all (so an import of 10,000 accounts
 * applied again costs one read). Accounts that are not declared are left
 * alone. A changed password or a newly disabled account revokes what was
 * issued to it, as `users passwd` and `users disable` do.
 *
 * Passwords: a declared hash is unchanged while the stored password comes
 * from it — stored as it is, or replaced with argon2id at a sign-in since
 * (the digest in users.declared_hash_digest says so), so nothing is
 * rehashed and nobody's tokens are revoked by applying the same file again.
 * A plain password is unchanged while it verifies against what is stored
 * (one argon2 verification per account and run, as before).
 *
 * Runs inside the caller's transaction (src/realms/realm-setup.ts): either
 * every account is applied or none is.
 */
export async function applyDeclaredAccounts(
  db: Db,
  hasher: PasswordHasher,
  realm: string,
  accounts: readonly DeclaredAccount[],
  progress?: ImportProgress,
): Promise<AccountOutcomes> {
  const existing = new Map((await listUsers(db, realm)).map((user) => [user.username.toLowerCase(), user]));
  const outcomes: AccountOutcomes = { created: 0, updated: 0, unchanged: 0, withoutPassword: 0 };
  for (let start = 0; start < accounts.length; start += BATCH) {
    const batch = accounts.slice(start, start + BATCH);
    const plans = await mapConcurrently(batch, HASHING_AT_ONCE, (account) => planAccount(account, existing.get(account.username.toLowerCase()), hasher));
    const created: Array<UserFields & { id: string }> = [];
    for (const plan of plans) {
      if (plan.kind === 'create') {
        created.push(plan.row);
        if (plan.row.password_hash === NO_PASSWORD) outcomes.withoutPassword += 1;
      } else if (plan.kind === 'update') {
        await updateUser(db, realm, plan.id, plan.fields);
        if (plan.revoke) await deleteAccountPayloads(db, realm, plan.id);
      }
      outcomes[plan.kind === 'create' ? 'created' : plan.kind === 'update' ? 'updated' : 'unchanged'] += 1;
    }
    await insertUsers(db, realm, created);
    progress?.(start + batch.length, accounts.length);
  }
  return outcomes;
}

async function planAccount(account: DeclaredAccount, existing: StoredUser | undefined, hasher: PasswordHasher): Promise<Plan> {
  const { username, email, email_verified, disabled, claims, roles, groups } = account;
  if (!existing) {
    const password = await passwordFields(account.password, hasher) ?? { password_hash: NO_PASSWORD, declared_hash_digest: null };
    return { kind: 'create', row: { id: randomUUID(), username, email, email_verified, disabled, claims, roles, groups, ...password } };
  }
  const password = await passwordUnchanged(account.password, existing, hasher) ? undefined : await passwordFields(account.password, hasher);
  const sameProfile = existing.email === email && existing.email_verified === email_verified && existing.disabled === disabled
    && sameJson(existing.claims, claims) && sameJson(existing.roles, roles) && sameJson(existing.groups, groups);
  if (sameProfile && !password) return { kind: 'unchanged' };
  return {
    kind: 'update',
    id: existing.id,
    fields: { email, email_verified, disabled, claims, roles, groups, ...password },
    revoke: password !== undefined || (disabled && !existing.disabled),
  };
}

async function passwordFields(password: DeclaredPassword | undefined, hasher: PasswordHasher): Promise<Pick<UserFields, 'password_hash' | 'declared_hash_digest'> | undefined> {
  if (!password) return undefined;
  if ('hash' in password) return { password_hash: password.hash, declared_hash_digest: digestOf(password.hash) };
  return { password_hash: await hasher.hash(password.plain), declared_hash_digest: null };
}

async function passwordUnchanged(password: DeclaredPassword | undefined, existing: StoredUser, hasher: PasswordHasher): Promise<boolean> {
  if (!password) return true;
  const stored = existing.password_hash;
  if ('hash' in password) {
    // By equality too: accounts stored before their digest was recorded.
    return existing.declared_hash_digest === digestOf(password.hash) || stored === password.hash;
  }
  if (isCurrentHash(stored)) return hasher.verify(stored, password.plain);
  if (parseKeptHash(stored)) return hasher.verifyKept(stored, password.plain);
  return false;
}

/** A digest of the declared hash, never the hash itself: the stored password may have moved on to argon2id. */
function digestOf(hash: string): string {
  return createHash('sha256').update(hash).digest('base64url');
}

/** Maps with at most `limit` calls in flight, keeping the order. */
async function mapConcurrently<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
