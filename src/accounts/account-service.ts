import { randomUUID } from 'node:crypto';
import { parseKeptHash, roleListProblem } from '../config/index.ts';
import { AccountError, AccountExistsError, AccountNotFoundError, HasherBusyError } from '../errors/index.ts';
import type { Db } from '../store/database.ts';
import { deleteAccountPayloads } from '../store/oidc-payload.repository.ts';
import {
  countUsers, deleteUser, findUserById, findUserByLogin, findUserByUsername, insertUser, listUsers, listUsersPage, replacePasswordHash, updateUser,
  type StoredUser,
} from '../store/user.repository.ts';
import { usernameProblem } from '../config/index.ts';
import { applyDeclaredAccounts, type AccountOutcomes, type DeclaredAccount, type ImportProgress } from './declared-accounts.ts';
import { isArgon2idHash, isCurrentHash, MAX_SECRET_LENGTH, type PasswordHasher } from './password-hasher.ts';

export interface NewUser {
  username: string;
  password: string;
  email?: string | null | undefined;
  email_verified?: boolean | undefined;
  claims?: Record<string, unknown> | undefined;
  disabled?: boolean | undefined;
  roles?: string[] | undefined;
  groups?: string[] | undefined;
}

/** How stale a token's claims may be on another instance after a profile change. */
const ACCOUNT_CACHE_MS = 5_000;
const ACCOUNT_CACHE_SIZE = 10_000;

/**
 * Accounts of a realm: authentication and lifecycle. Changing a password,
 * disabling or removing an account revokes everything issued to it (sessions,
 * grants, tokens), as ASVS 7.4.2/7.4.3 ask.
 */
export class AccountService {
  readonly #db: Db;
  readonly #hasher: PasswordHasher;
  #dummyHash: Promise<string> | undefined;
  readonly #recent = new Map<string, { user: StoredUser | undefined; until: number }>();

  constructor(db: Db, hasher: PasswordHasher) {
    this.#db = db;
    this.#hasher = hasher;
  }

  /**
   * The account behind a token (oidc-provider's findAccount: every refresh,
   * userinfo and code exchange). Cached for a few seconds per process: the
   * cache only decides which claims a token shows, never whether it is
   * valid — disabling, re-passwording or removing an account deletes its
   * tokens and sessions at once, on every instance.
   */
  async findActive(realm: string, id: string): Promise<StoredUser | undefined> {
    if (!isPlausible(id)) return undefined;
    const key = `${realm}\0${id}`;
    const cached = this.#recent.get(key);
    if (cached && cached.until > Date.now()) return cached.user;
    const found = await findUserById(this.#db, realm, id);
    const user = found && !found.disabled ? found : undefined;
    this.#recent.set(key, { user, until: Date.now() + ACCOUNT_CACHE_MS });
    if (this.#recent.size > ACCOUNT_CACHE_SIZE) this.#recent.delete(this.#recent.keys().next().value!);
    return user;
  }

  /**
   * Returns the account when the password matches. An unknown login, and an
   * account without a usable password, still pay one argon2 verification,
   * so response time does not reveal which usernames exist. A password
   * stored in another form than Latchkey's current argon2id (a hash kept
   * from Keycloak) is verified in its own form and, once it matched,
   * replaced with argon2id: not a password change, so nothing is revoked.
   * (A kept PBKDF2 hash verifies faster than argon2id until that first
   * sign-in: timing tells an attacker that the account was imported, not
   * whether it exists.)
   */
  async authenticate(realm: string, login: string, password: string): Promise<StoredUser | undefined> {
    if (!isPlausible(login) || password.length > MAX_SECRET_LENGTH) return undefined;
    const user = await findUserByLogin(this.#db, realm, login.trim());
    const stored = user?.password_hash ?? '';
    const current = isCurrentHash(stored);
    const ok = current ? await this.#hasher.verify(stored, password)
      : parseKeptHash(stored) ? await this.#hasher.verifyKept(stored, password)
        : await this.#equalise(password);
    if (!user || !ok || user.disabled) return undefined;
    if (!current) await this.#upgrade(realm, user, password);
    return user;
  }

  /**
   * Applies declared accounts (the setup file, a Keycloak realm export):
   * creates the new ones in batches, updates the changed ones, leaves the
   * others alone (src/accounts/declared-accounts.ts).
   */
  async applyDeclared(realm: string, accounts: readonly DeclaredAccount[], progress?: ImportProgress): Promise<AccountOutcomes> {
    const outcomes = await applyDeclaredAccounts(this.#db, this.#hasher, realm, accounts, progress);
    this.#recent.clear();
    return outcomes;
  }

  /** Pays what a real verification costs, and fails. */
  async #equalise(password: string): Promise<false> {
    this.#dummyHash ??= this.#hasher.hash('latchkey-timing-equaliser');
    await this.#hasher.verify(await this.#dummyHash, password);
    return false;
  }

  /**
   * The first sign-in with a kept hash stores Latchkey's argon2id in its
   * place. Compare-and-set (src/store/user.repository.ts replacePasswordHash):
   * of two first sign-ins at once both succeed and one hash is stored. When
   * every hashing slot is taken, the kept hash simply stays until the next
   * sign-in.
   */
  async #upgrade(realm: string, user: StoredUser, password: string): Promise<void> {
    let replacement: string;
    try {
      replacement = await this.#hasher.hash(password);
    } catch (error) {
      if (error instanceof HasherBusyError) return;
      throw error;
    }
    await replacePasswordHash(this.#db, realm, user.id, user.password_hash, replacement);
  }

  /**
   * The id of the account a login names (username or e-mail address, any
   * case, surrounding spaces ignored: the lookup `authenticate` does),
   * without checking any password, so that sign-in brakes count per account
   * rather than per spelling. Disabled accounts resolve too.
   */
  async resolveLogin(realm: string, login: string): Promise<string | undefined> {
    if (!isPlausible(login)) return undefined;
    return (await findUserByLogin(this.#db, realm, login.trim()))?.id;
  }

  async list(realm: string): Promise<StoredUser[]> {
    return listUsers(this.#db, realm);
  }

  async count(realm: string): Promise<number> {
    return countUsers(this.#db, realm);
  }

  /** One page of the realm's users in username order, starting after `after` (keyset pagination: stable while users are added). */
  async page(realm: string, { after, limit }: { after?: string | undefined; limit: number }): Promise<StoredUser[]> {
    return listUsersPage(this.#db, realm, { after, limit });
  }

  async findByUsername(realm: string, username: string): Promise<StoredUser | undefined> {
    return findUserByUsername(this.#db, realm, username);
  }

  /**
   * @throws AccountError when the rules refuse the user (username, roles, groups, password)
   * @throws AccountExistsError when the username is taken in the realm
   */
  async create(realm: string, user: NewUser): Promise<StoredUser> {
    const problem = usernameProblem(user.username);
    if (problem) throw new AccountError(`username: ${problem}`);
    for (const name of ['roles', 'groups'] as const) {
      const problem = user[name] === undefined ? undefined : roleListProblem(user[name], name);
      if (problem) throw new AccountError(`${problem.field}: ${problem.message}`);
    }
    if (await findUserByUsername(this.#db, realm, user.username)) {
      throw new AccountExistsError(`user ${user.username} already exists in realm ${realm}`);
    }
    const id = randomUUID();
    await insertUser(this.#db, realm, id, {
      username: user.username,
      email: user.email ?? null,
      email_verified: user.email_verified ?? false,
      password_hash: await this.#passwordHash(user.password),
      claims: user.claims ?? {},
      disabled: user.disabled ?? false,
      roles: user.roles ?? [],
      groups: user.groups ?? [],
    });
    return (await findUserById(this.#db, realm, id))!;
  }

  async setPassword(realm: string, username: string, password: string): Promise<void> {
    const user = await this.#require(realm, username);
    const passwordHash = await this.#passwordHash(password);
    await this.#db.atomically(async () => {
      await updateUser(this.#db, realm, user.id, { password_hash: passwordHash });
      await deleteAccountPayloads(this.#db, realm, user.id);
    });
    this.#forget(realm, user.id);
  }

  /**
   * Replaces a user's roles or groups (or both). Tokens already issued keep
   * what they were issued with (src/oidc/authorisation-claims.ts); the next
   * ones carry the new lists.
   */
  async setAuthorisation(realm: string, username: string, lists: { roles?: string[] | undefined; groups?: string[] | undefined }): Promise<void> {
    for (const name of ['roles', 'groups'] as const) {
      const problem = lists[name] === undefined ? undefined : roleListProblem(lists[name], name);
      if (problem) throw new AccountError(`${problem.field}: ${problem.message}`);
    }
    const user = await this.#require(realm, username);
    await updateUser(this.#db, realm, user.id, {
      ...(lists.roles ? { roles: lists.roles } : {}),
      ...(lists.groups ? { groups: lists.groups } : {}),
    });
    this.#forget(realm, user.id);
  }

  async setDisabled(realm: string, username: string, disabled: boolean): Promise<void> {
    const user = await this.#require(realm, username);
    await this.#db.atomically(async () => {
      await updateUser(this.#db, realm, user.id, { disabled });
      if (disabled) await deleteAccountPayloads(this.#db, realm, user.id);
    });
    this.#forget(realm, user.id);
  }

  async remove(realm: string, username: string): Promise<void> {
    const user = await this.#require(realm, username);
    await this.#db.atomically(async () => {
      await deleteAccountPayloads(this.#db, realm, user.id);
      await deleteUser(this.#db, realm, user.id);
    });
    this.#forget(realm, user.id);
  }

  /** Now, and again once the request's transaction has committed (a lookup in between may have cached the old row). */
  #forget(realm: string, id: string): void {
    const key = `${realm}\0${id}`;
    this.#recent.delete(key);
    this.#db.afterCommit(() => this.#recent.delete(key));
  }

  async #require(realm: string, username: string): Promise<StoredUser> {
    const user = await findUserByUsername(this.#db, realm, username);
    if (!user) throw new AccountNotFoundError(`no user ${username} in realm ${realm}`);
    return user;
  }

  async #passwordHash(password: string): Promise<string> {
    if (isArgon2idHash(password)) return password;
    if (password.length === 0 || password.length > MAX_SECRET_LENGTH) {
      throw new AccountError(`password must be 1 to ${MAX_SECRET_LENGTH} characters`);
    }
    return this.#hasher.hash(password);
  }
}

function isPlausible(value: string): boolean {
  return typeof value === 'string' && value.length > 0 && value.length <= 256 && !value.includes('\0');
}
