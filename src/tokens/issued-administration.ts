import type { AccountService } from '../accounts/account-service.ts';
import { AccountNotFoundError, InvalidRequestError, IssuedNotFoundError } from '../errors/index.ts';
import { digest } from '../oidc/payload-adapter.ts';
import type { Db } from '../store/database.ts';
import {
  deleteIssued, deleteOneIssued, findIssued, listIssued, TOKEN_MODELS, type IssuedFilter, type IssuedRow,
} from '../store/issued-token.repository.ts';
import { AdminHandles, type SealedRow } from './admin-handles.ts';

/**
 * What was issued in a realm, as an operator administers it (Kong's
 * /oauth2_tokens, Keycloak's user sessions and consents): live tokens,
 * consents (the engine's Grants: what a user allowed a client) and
 * sessions, listed as metadata only (never a value, a digest or a cookie)
 * and revoked one at a time or all of a client's or user's at once.
 *
 * Revocation follows the engine's own rules: revoking a refresh token or an
 * authorization code revokes its whole grant (RFC 7009 §2.1, RFC 6749
 * §4.1.2), an access token only itself; withdrawing a consent revokes every
 * token of it; ending a session ends the consents it holds that do not
 * outlive it (offline access), as the engine's logout does. Every change is
 * one transaction under the grants' locks (src/store/issued-token.repository.ts),
 * so a refresh racing a revocation cannot leave a live token behind.
 */
export type TokenKind = 'access_token' | 'client_credentials' | 'refresh_token' | 'authorization_code';

const KIND_OF_MODEL: Record<(typeof TOKEN_MODELS)[number], TokenKind> = {
  AccessToken: 'access_token',
  ClientCredentials: 'client_credentials',
  RefreshToken: 'refresh_token',
  AuthorizationCode: 'authorization_code',
};
const MODEL_OF_KIND = Object.fromEntries(Object.entries(KIND_OF_MODEL).map(([model, kind]) => [kind, model])) as Record<TokenKind, string>;
export const TOKEN_KINDS = Object.values(KIND_OF_MODEL);

export interface TokenView {
  id: string;
  kind: TokenKind;
  /** Access tokens: opaque or jwt. */
  format: 'opaque' | 'jwt' | null;
  client_id: string;
  user_id: string | null;
  username: string | null;
  scopes: string[];
  /** The resource (audience) an access token is for, when it names one. */
  resource: string | null;
  /** The consent (grant) the token was issued under; null for client credentials. */
  consent_id: string | null;
  issued_at: Date | null;
  expires_at: Date | null;
}

export interface ConsentView {
  id: string;
  client_id: string;
  user_id: string | null;
  username: string | null;
  scopes: string[];
  /** Scopes allowed per resource server (RFC 8707 resource indicators). */
  resources: Record<string, string[]>;
  claims: string[];
  issued_at: Date | null;
  expires_at: Date | null;
}

export interface SessionView {
  id: string;
  user_id: string | null;
  username: string | null;
  /** Clients the user signed in to during the session. */
  clients: string[];
  signed_in_at: Date | null;
  acr: string | null;
  amr: string[];
  issued_at: Date | null;
  expires_at: Date | null;
}

/** Who a listing or bulk revocation is about. */
export interface Whose {
  clientId?: string | undefined;
  username?: string | undefined;
}

const seconds = (value: unknown) => (typeof value === 'number' ? new Date(value * 1000) : null);
const words = (value: unknown) => (typeof value === 'string' ? value.split(' ').filter(Boolean) : []);
const text = (value: unknown) => (typeof value === 'string' ? value : null);

export class IssuedAdministration {
  readonly #db: Db;
  readonly #accounts: AccountService;
  readonly #handles: AdminHandles;

  constructor(db: Db, accounts: AccountService, digestKey: Buffer) {
    this.#db = db;
    this.#accounts = accounts;
    this.#handles = new AdminHandles(digestKey);
  }

  async listTokens(realm: string, whose: Whose & { kind?: TokenKind | undefined }, page: PageRange): Promise<TokenView[]> {
    const models = whose.kind ? [MODEL_OF_KIND[whose.kind]] : TOKEN_MODELS;
    return this.#page(realm, { models, ...(await this.#filter(realm, whose)) }, page, (row) => this.#tokenView(row));
  }

  /** @throws IssuedNotFoundError when no live token has that handle */
  async revokeToken(realm: string, handle: string): Promise<void> {
    const row = await this.#live(realm, handle, TOKEN_MODELS, 'token');
    const wholeGrant = row.model === 'RefreshToken' || row.model === 'AuthorizationCode';
    if (!(await deleteOneIssued(this.#db, realm, row.model, row.id, { wholeGrant }))) throw new IssuedNotFoundError('token', realm);
  }

  /**
   * Revokes every token of a client or of a user (and the consents they
   * were issued under, which a token cannot outlive). Sessions stay: end
   * them apart (endAllSessions). @returns how many live tokens were revoked
   */
  async revokeAllTokens(realm: string, whose: Whose): Promise<number> {
    return deleteIssued(this.#db, realm, { models: [...TOKEN_MODELS, 'Grant'], ...(await this.#filter(realm, whose)) }, TOKEN_MODELS);
  }

  async listConsents(realm: string, whose: Whose, page: PageRange): Promise<ConsentView[]> {
    return this.#page(realm, { models: ['Grant'], ...(await this.#filter(realm, whose)) }, page, (row) => this.#consentView(row));
  }

  /** Withdraws a consent: the grant and every token issued under it. @throws IssuedNotFoundError */
  async withdrawConsent(realm: string, handle: string): Promise<void> {
    const row = await this.#live(realm, handle, ['Grant'], 'consent');
    if (!(await deleteOneIssued(this.#db, realm, row.model, row.id, { wholeGrant: true }))) throw new IssuedNotFoundError('consent', realm);
  }

  /** @returns how many consents were withdrawn */
  async withdrawAllConsents(realm: string, whose: Whose): Promise<number> {
    return deleteIssued(this.#db, realm, { models: ['Grant'], ...(await this.#filter(realm, whose)) }, ['Grant']);
  }

  async listSessions(realm: string, whose: Pick<Whose, 'username'>, page: PageRange): Promise<SessionView[]> {
    return this.#page(realm, { models: ['Session'], ...(await this.#filter(realm, whose)) }, page, (row) => this.#sessionView(row));
  }

  /** Ends a session, and the consents it holds that do not outlive it. @throws IssuedNotFoundError */
  async endSession(realm: string, handle: string): Promise<void> {
    const row = await this.#live(realm, handle, ['Session'], 'session');
    await this.#endSessions(realm, [row]);
  }

  /** @returns how many sessions were ended */
  async endAllSessions(realm: string, whose: Pick<Whose, 'username'>): Promise<number> {
    const filter = { models: ['Session'], ...(await this.#filter(realm, whose)) };
    const sessions: IssuedRow[] = [];
    for (let after: SealedRow | undefined; ;) {
      const rows = await listIssued(this.#db, realm, filter, { after, limit: 500 });
      sessions.push(...rows);
      if (rows.length < 500) break;
      after = rows[rows.length - 1];
    }
    return this.#endSessions(realm, sessions);
  }

  async #endSessions(realm: string, sessions: readonly IssuedRow[]): Promise<number> {
    let ended = 0;
    for (const session of sessions) {
      for (const grantId of ephemeralGrantsOf(session)) {
        await deleteIssued(this.#db, realm, { models: ['Grant'], grantId }, []);
      }
      if (await deleteOneIssued(this.#db, realm, 'Session', session.id, { wholeGrant: false })) ended += 1;
    }
    return ended;
  }

  /** A page of views in handle-keyed order: `after` is the id of the previous page's last item. */
  async #page<T>(realm: string, filter: IssuedFilter, { after, limit }: PageRange, view: (row: IssuedRow) => T): Promise<T[]> {
    const from = after === undefined ? undefined : this.#handles.open(after, filter.models);
    if (after !== undefined && !from) {
      throw new InvalidRequestError('cursor: not a cursor this API handed out', [{ field: 'cursor', message: 'not a cursor this API handed out' }]);
    }
    return (await listIssued(this.#db, realm, filter, { after: from, limit })).map(view);
  }

  async #live(realm: string, handle: string, models: readonly string[], kind: 'token' | 'consent' | 'session'): Promise<IssuedRow> {
    const sealed = this.#handles.open(handle, models);
    const row = sealed && await findIssued(this.#db, realm, sealed.model, sealed.id);
    if (!row) throw new IssuedNotFoundError(kind, realm);
    return row;
  }

  /** @throws AccountNotFoundError for a username the realm does not have */
  async #filter(realm: string, { clientId, username }: Whose): Promise<Omit<IssuedFilter, 'models'>> {
    if (username === undefined) return { clientId };
    const user = await this.#accounts.findByUsername(realm, username);
    if (!user) throw new AccountNotFoundError(`no user ${username} in realm ${realm}`);
    return { clientId, accountId: user.id };
  }

  #tokenView(row: IssuedRow): TokenView {
    const p = row.payload;
    const model = row.model as keyof typeof KIND_OF_MODEL;
    const isAccess = model === 'AccessToken' || model === 'ClientCredentials';
    const grantId = text(p['grantId']);
    return {
      id: this.#handles.seal(row),
      kind: KIND_OF_MODEL[model],
      format: isAccess ? (p['format'] === 'jwt' ? 'jwt' : 'opaque') : null,
      client_id: String(p['clientId'] ?? ''),
      user_id: text(p['accountId']),
      username: row.username,
      scopes: words(p['scope']),
      resource: text(p['aud']) ?? text(p['resource']),
      consent_id: grantId === null ? null : this.#handles.seal({ model: 'Grant', id: digest(grantId) }),
      issued_at: seconds(p['iat']),
      expires_at: row.expires_at ?? seconds(p['exp']),
    };
  }

  #consentView(row: IssuedRow): ConsentView {
    const p = row.payload;
    const openid = (p['openid'] ?? {}) as { scope?: unknown; claims?: unknown };
    const resources = (p['resources'] ?? {}) as Record<string, unknown>;
    return {
      id: this.#handles.seal(row),
      client_id: String(p['clientId'] ?? ''),
      user_id: text(p['accountId']),
      username: row.username,
      scopes: words(openid.scope),
      resources: Object.fromEntries(Object.entries(resources).map(([resource, scope]) => [resource, words(scope)])),
      claims: Array.isArray(openid.claims) ? openid.claims.map(String) : [],
      issued_at: seconds(p['iat']),
      expires_at: row.expires_at ?? seconds(p['exp']),
    };
  }

  #sessionView(row: IssuedRow): SessionView {
    const p = row.payload;
    return {
      id: this.#handles.seal(row),
      user_id: text(p['accountId']),
      username: row.username,
      clients: Object.keys((p['authorizations'] ?? {}) as object),
      signed_in_at: seconds(p['loginTs']),
      acr: text(p['acr']),
      amr: Array.isArray(p['amr']) ? p['amr'].map(String) : [],
      issued_at: seconds(p['iat']),
      expires_at: row.expires_at ?? seconds(p['exp']),
    };
  }
}

export interface PageRange {
  /** The id (handle) of the previous page's last item. */
  after: string | undefined;
  limit: number;
}

/** The grants a session holds that end with it: those not marked to persist logout (offline access). */
function ephemeralGrantsOf(session: IssuedRow): string[] {
  const authorizations = (session.payload['authorizations'] ?? {}) as Record<string, { grantId?: unknown; persistsLogout?: unknown }>;
  return Object.values(authorizations)
    .filter((authorization) => typeof authorization.grantId === 'string' && authorization.persistsLogout !== true)
    .map((authorization) => authorization.grantId as string);
}
