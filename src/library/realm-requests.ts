import { createHash, randomBytes } from 'node:crypto';
import type { ClientDeclaration, RealmDeclaration } from '../config/index.ts';

/**
 * What a test needs from a realm without a browser: tokens by client
 * credentials, a user's sign-in through the authorization code flow, and
 * revocation. Every one is a real HTTP exchange with the running server,
 * as a relying party makes it: the pages, the engine and every rule in
 * between answer, so a test sees exactly what its clients will.
 */

/** A token endpoint's answer (RFC 6749 §5.1), as the client gets it. */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
  [field: string]: unknown;
}

/** A refused request: `code` is the OAuth error (`invalid_client`, `invalid_grant`, …). */
export class OAuthRequestError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, status: number, description: string | undefined) {
    super(description ? `${code}: ${description}` : code);
    this.name = 'OAuthRequestError';
    this.code = code;
    this.status = status;
  }
}

export interface ClientOptions {
  clientId: string;
  /** Default: the secret the setup declares for the client. */
  clientSecret?: string | undefined;
  /** Default: the `default` realm, else the first. */
  realm?: string | undefined;
}

export interface SignInOptions extends ClientOptions {
  username: string;
  /** Default: the password the setup declares for the user. */
  password?: string | undefined;
  /** Default: `openid`. */
  scope?: string | undefined;
  /** An API's identifier (RFC 8707), for an access token meant for it. */
  resource?: string | undefined;
  /** Default: the client's first redirect URI. */
  redirectUri?: string | undefined;
}

interface Endpoints {
  authorization_endpoint: string;
  token_endpoint: string;
  revocation_endpoint?: string;
}

/** Where each realm answers and what its setup declares; the secrets and passwords tests usually leave out. */
export interface RealmDirectory {
  discoveryUrl(realm: string | undefined): string;
  declaration(realm: string | undefined): RealmDeclaration | undefined;
}

/** How many redirects a sign-in may take before it is taken for a loop. */
const MAX_STEPS = 12;

export class RealmRequests {
  readonly #realms: RealmDirectory;
  readonly #endpoints = new Map<string, Promise<Endpoints>>();

  constructor(realms: RealmDirectory) {
    this.#realms = realms;
  }

  async clientCredentials(options: ClientOptions & { scope?: string | undefined; resource?: string | undefined }): Promise<TokenResponse> {
    const { token_endpoint } = await this.#endpointsOf(options.realm);
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (options.scope) form.set('scope', options.scope);
    if (options.resource) form.set('resource', options.resource);
    return await this.#post(token_endpoint, form, options) as TokenResponse;
  }

  /**
   * The authorization code flow with PKCE for `username` at `clientId`:
   * the authorization request, the sign-in page's form, the consent page's
   * form when the client needs one, the redirect back, the code exchange.
   */
  async signIn(options: SignInOptions): Promise<TokenResponse> {
    const declared = this.#client(options);
    const redirectUri = options.redirectUri ?? declared?.redirect_uris[0];
    if (!redirectUri) throw new Error(`signIn: client ${options.clientId} declares no redirect URI; pass redirectUri`);
    const password = options.password ?? this.#realms.declaration(options.realm)?.users.find((user) => user.username === options.username)?.password;
    if (password === undefined) throw new Error(`signIn: the setup declares no password for ${options.username}; pass password`);

    const { authorization_endpoint, token_endpoint } = await this.#endpointsOf(options.realm);
    const verifier = randomBytes(32).toString('base64url');
    const state = randomBytes(16).toString('base64url');
    const authorization = new URL(authorization_endpoint);
    authorization.search = new URLSearchParams({
      client_id: options.clientId,
      response_type: 'code',
      redirect_uri: redirectUri,
      scope: options.scope ?? 'openid',
      state,
      nonce: randomBytes(16).toString('base64url'),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      ...(options.resource ? { resource: options.resource } : {}),
    }).toString();

    const cookies = new CookieJar();
    let next: { url: string; method: 'GET' | 'POST'; form?: URLSearchParams } = { url: authorization.href, method: 'GET' };
    for (let step = 0; step < MAX_STEPS; step += 1) {
      if (next.url.startsWith(redirectUri)) return this.#exchange(token_endpoint, new URL(next.url), { state, verifier, redirectUri, options });
      const answer = await fetch(next.url, {
        method: next.method,
        redirect: 'manual',
        headers: {
          cookie: cookies.header(),
          ...(next.form ? { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(next.url).origin } : {}),
        },
        ...(next.form ? { body: next.form } : {}),
      });
      cookies.take(answer.headers.getSetCookie());
      const location = answer.headers.get('location');
      if (answer.status >= 300 && answer.status < 400 && location) {
        next = { url: new URL(location, next.url).href, method: 'GET' };
        continue;
      }
      const page = await answer.text();
      if (answer.status === 200 && /name="password"/.test(page)) {
        next = { url: `${next.url}/login`, method: 'POST', form: new URLSearchParams({ login: options.username, password }) };
      } else if (answer.status === 200 && next.method === 'GET' && /\/confirm"/.test(page)) {
        next = { url: `${next.url}/confirm`, method: 'POST', form: new URLSearchParams() };
      } else {
        throw new OAuthRequestError(answer.status === 401 ? 'access_denied' : 'server_error', answer.status, `signIn: ${options.username} at ${options.clientId} stopped at ${new URL(next.url).pathname} (${answer.status}): ${pageMessage(page)}`);
      }
    }
    throw new Error(`signIn: no redirect back to ${redirectUri} after ${MAX_STEPS} steps`);
  }

  /** Revokes an access or refresh token (RFC 7009) as its client. */
  async revoke(token: string, options: ClientOptions & { tokenTypeHint?: 'access_token' | 'refresh_token' | undefined }): Promise<void> {
    const { revocation_endpoint } = await this.#endpointsOf(options.realm);
    if (!revocation_endpoint) throw new Error('revoke: the realm announces no revocation endpoint');
    const form = new URLSearchParams({ token });
    if (options.tokenTypeHint) form.set('token_type_hint', options.tokenTypeHint);
    await this.#post(revocation_endpoint, form, options);
  }

  async #exchange(tokenEndpoint: string, callback: URL, { state, verifier, redirectUri, options }: { state: string; verifier: string; redirectUri: string; options: SignInOptions }): Promise<TokenResponse> {
    const error = callback.searchParams.get('error');
    if (error) throw new OAuthRequestError(error, 302, callback.searchParams.get('error_description') ?? undefined);
    if (callback.searchParams.get('state') !== state) throw new Error('signIn: the redirect back carries another state');
    const code = callback.searchParams.get('code');
    if (!code) throw new Error('signIn: the redirect back carries no code');
    const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier });
    return await this.#post(tokenEndpoint, form, options) as TokenResponse;
  }

  /** A form POST authenticated as the client declares (client_secret_basic unless it says post or none). */
  async #post(url: string, form: URLSearchParams, options: ClientOptions): Promise<Record<string, unknown>> {
    const declared = this.#client(options);
    const method = declared?.token_endpoint_auth_method ?? 'client_secret_basic';
    const secret = options.clientSecret ?? (typeof declared?.client_secret === 'string' ? declared.client_secret : undefined);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (method === 'none' || (secret === undefined && method !== 'client_secret_basic')) {
      form.set('client_id', options.clientId);
    } else if (secret === undefined) {
      throw new Error(`no secret for client ${options.clientId}: the setup declares none in plain text; pass clientSecret`);
    } else if (method === 'client_secret_post') {
      form.set('client_id', options.clientId);
      form.set('client_secret', secret);
    } else {
      // RFC 6749 §2.3.1: both parts form-encoded before Basic.
      headers['authorization'] = `Basic ${Buffer.from(`${formEncode(options.clientId)}:${formEncode(secret)}`).toString('base64')}`;
    }
    const answer = await fetch(url, { method: 'POST', headers, body: form });
    const text = await answer.text();
    const body = text ? JSON.parse(text) as Record<string, unknown> : {};
    if (!answer.ok) throw new OAuthRequestError(String(body['error'] ?? 'server_error'), answer.status, typeof body['error_description'] === 'string' ? body['error_description'] : undefined);
    return body;
  }

  #client(options: ClientOptions): ClientDeclaration | undefined {
    return this.#realms.declaration(options.realm)?.clients.find((client) => client.client_id === options.clientId);
  }

  #endpointsOf(realm: string | undefined): Promise<Endpoints> {
    const url = this.#realms.discoveryUrl(realm);
    let found = this.#endpoints.get(url);
    if (!found) {
      found = fetch(url).then(async (answer) => {
        if (!answer.ok) throw new Error(`discovery at ${url} answered ${answer.status}`);
        return await answer.json() as Endpoints;
      });
      found.catch(() => this.#endpoints.delete(url));
      this.#endpoints.set(url, found);
    }
    return found;
  }
}

/** The cookies of one sign-in: name → value, as a browser would send them back (paths aside: one flow, one site). */
class CookieJar {
  readonly #values = new Map<string, string>();

  take(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      if (at < 1) continue;
      const name = pair.slice(0, at).trim();
      const expired = attributes.some((attribute) => /^\s*max-age=0\s*$/i.test(attribute) || (/^\s*expires=/i.test(attribute) && Date.parse(attribute.split('=')[1]!) < Date.now()));
      if (expired) this.#values.delete(name);
      else this.#values.set(name, pair.slice(at + 1).trim());
    }
  }

  header(): string {
    return [...this.#values].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

/** What a page says went wrong, for the error message: its first paragraph or title, tags removed. */
function pageMessage(page: string): string {
  const text = /<p[^>]*class="[^"]*error[^"]*"[^>]*>([\s\S]*?)<\/p>/i.exec(page)?.[1] ?? /<title>([\s\S]*?)<\/title>/i.exec(page)?.[1] ?? page.slice(0, 200);
  return text.replace(/<[^>]+>/g, '').replace(/\s+/g, ' ').trim();
}
