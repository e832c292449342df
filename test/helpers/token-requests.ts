import * as oidc from 'openid-client';
import type { Test } from 'tap';
import { Browser } from './browserless.ts';
import { discover } from './relying-party.ts';
import { SECRETS } from './setups.ts';

/**
 * Raw HTTP for the token, introspection and revocation endpoints, for the
 * hostile requests that a well-behaved client library refuses to send: exact
 * status codes, headers and bodies, nothing parsed away.
 */
export interface OAuthResponse {
  url: string;
  status: number;
  headers: Headers;
  /** The body exactly as sent. */
  text: string;
  /** The body as JSON, or undefined when it is not JSON (e.g. revocation's empty 200). */
  json: Record<string, any> | undefined;
}

export type ClientCredentials = readonly [clientId: string, secret: string];

export interface RequestOptions {
  /** Sent as `Authorization: Basic`, form-urlencoded per RFC 6749 Appendix B. */
  basic?: ClientCredentials;
  /** Any Authorization header value, sent as is (wins over `basic`). */
  authorization?: string;
  headers?: Record<string, string>;
  /**
   * Gives up on an answer after this long: the request then rejects with a
   * TimeoutError. A deadline for tests whose point is that the server never
   * hangs; no assertion here is about how fast it answers.
   */
  deadlineMs?: number;
}

/** RFC 6749 §2.3.1 + Appendix B: each part is form-urlencoded before base64. */
export function basicAuthorization([clientId, secret]: ClientCredentials): string {
  const encode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

/** Basic credentials without the Appendix B encoding (the common client bug). */
export function rawBasicAuthorization([clientId, secret]: ClientCredentials): string {
  return `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
}

export async function postForm(url: string, form: Record<string, string> | string, options: RequestOptions = {}): Promise<OAuthResponse> {
  const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...options.headers });
  const authorization = options.authorization ?? (options.basic && basicAuthorization(options.basic));
  if (authorization) headers.set('authorization', authorization);
  const body = typeof form === 'string' ? form : new URLSearchParams(form).toString();
  const signal = options.deadlineMs === undefined ? null : AbortSignal.timeout(options.deadlineMs);
  const response = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal });
  const text = await response.text();
  let json: Record<string, any> | undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { url, status: response.status, headers: response.headers, text, json };
}

export function tokenRequest(issuer: string, form: Record<string, string> | string, options?: RequestOptions): Promise<OAuthResponse> {
  return postForm(`${issuer}/token`, form, options);
}

export function refreshRequest(issuer: string, refreshToken: string, asClient: ClientCredentials, extra: Record<string, string> = {}): Promise<OAuthResponse> {
  return tokenRequest(issuer, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra }, { basic: asClient });
}

export function introspect(issuer: string, token: string, asClient?: ClientCredentials, extra: Record<string, string> = {}, options: RequestOptions = {}): Promise<OAuthResponse> {
  return postForm(`${issuer}/token/introspection`, { token, ...extra }, { ...(asClient ? { basic: asClient } : {}), ...options });
}

export function revoke(issuer: string, token: string, asClient?: ClientCredentials, extra: Record<string, string> = {}, options: RequestOptions = {}): Promise<OAuthResponse> {
  return postForm(`${issuer}/token/revocation`, { token, ...extra }, { ...(asClient ? { basic: asClient } : {}), ...options });
}

/** True when the token introspects active for the given (introspection-capable) client. */
export async function isActive(issuer: string, token: string, asClient: ClientCredentials): Promise<boolean> {
  const response = await introspect(issuer, token, asClient);
  if (response.status !== 200) throw new Error(`introspection answered ${response.status}: ${response.text}`);
  return response.json?.['active'] === true;
}

/**
 * An OAuth error answer: status, `error`, no token, none of the given values
 * in the body, and (token and introspection endpoints, RFC 6749 §5.1,
 * RFC 7662 §2.2) `Cache-Control: no-store`.
 */
export function assertOAuthError(t: Test, response: OAuthResponse, status: number, error: string, secrets: readonly string[] = []): void {
  t.equal(response.status, status, `HTTP ${status}`);
  t.equal(response.json?.['error'], error, `error=${error} (${response.json?.['error_description'] ?? `HTTP ${response.status}`})`);
  t.notOk(response.json?.['access_token'] ?? response.json?.['refresh_token'] ?? response.json?.['id_token'], 'no token issued');
  if (/\/token(\/introspection)?$/.test(new URL(response.url).pathname)) assertNoStore(t, response);
  assertNoLeak(t, response.text, secrets);
}

export function assertNoStore(t: Test, response: OAuthResponse): void {
  t.equal(response.headers.get('cache-control'), 'no-store', `Cache-Control: no-store on ${new URL(response.url).pathname}`);
}

/** None of the values (tokens, codes, secrets) appears in the text. */
export function assertNoLeak(t: Test, text: string, secrets: readonly string[], where = 'the body'): void {
  const leaked = secrets.filter((secret) => secret && text.includes(secret));
  t.same(leaked.map((s) => `${s.slice(0, 6)}…`), [], `no token, code or secret in ${where}`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Only the authorization code (+ its PKCE verifier) for a client, signing in
 * as alice: for tests that need the code itself rather than the tokens.
 */
export async function authorizationCode(issuer: string, {
  clientId = 'web1',
  secret = SECRETS.web1 as string | undefined,
  redirectUri = 'https://app.test/cb',
  scope = 'openid profile',
} = {}): Promise<{ code: string; verifier: string; redirectUri: string }> {
  const config = await discover(issuer, clientId, secret);
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: oidc.randomState(),
  });
  const callback = await new Browser(issuer).authorize(url.href, { login: 'alice', password: SECRETS.alice });
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code in ${callback.href}`);
  return { code, verifier, redirectUri };
}
