import { createHash, randomBytes } from 'node:crypto';
import { Browser } from '../test/helpers/browserless.ts';
import { SECRETS } from '../test/helpers/setups.ts';

/**
 * What the benchmark needs from a client's point of view, for both servers
 * (same URLs, same clients): tokens from client_credentials, and the full
 * browser-less code flow (authorize → login → consent → code → token).
 */
export const SVC = ['svc', SECRETS.svc] as const;
export const RS = ['rs', SECRETS.rs] as const;
export const WEB1 = ['web1', SECRETS.web1] as const;
/** Baseline only: a resource server that gets RFC 9701 signed introspection responses. */
export const RSJWT = ['rsjwt', 'rsjwt-secret-for-benchmarks'] as const;
/** A client with the password grant only, and the users it signs in (one per concurrent worker, so no two requests are identical). */
export const PWD = ['pwd', 'pwd-secret-for-benchmarks'] as const;
export const PASSWORD_USERS = Array.from({ length: 16 }, (_, i) => `bench-user-${i}`);
/** Baseline only: resource indicators for which client_credentials issues JWT access tokens. */
export const JWT_RESOURCES = { 'urn:bench:es256': 'ES256', 'urn:bench:rs256': 'RS256' } as const;
const REDIRECT_URI = 'https://app.test/cb';
const FORM = 'application/x-www-form-urlencoded';

/** RFC 6749 §2.3.1 + Appendix B: each part form-urlencoded before base64. */
export function basicAuthorization([clientId, secret]: readonly [string, string]): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

async function postToken(origin: string, auth: readonly [string, string], form: Record<string, string>): Promise<Record<string, string>> {
  const response = await fetch(`${origin}/token`, {
    method: 'POST',
    headers: { authorization: basicAuthorization(auth), 'content-type': FORM, accept: 'application/json' },
    body: new URLSearchParams(form).toString(),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`token endpoint answered ${response.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as Record<string, string>;
}

export async function clientCredentialsToken(origin: string, scope = 'api:read', resource?: string): Promise<string> {
  return (await postToken(origin, SVC, { grant_type: 'client_credentials', scope, ...(resource ? { resource } : {}) }))['access_token']!;
}

/** The password grant (RFC 6749 §4.3) for a bench user, with an ID token; every user has alice's password. */
export async function passwordGrant(origin: string, username: string): Promise<Record<string, string>> {
  const tokens = await postToken(origin, PWD, { grant_type: 'password', username, password: SECRETS.alice, scope: 'openid api:read' });
  if (!tokens['id_token']) throw new Error('the password grant gave no ID token');
  return tokens;
}

/** The authorization code flow for web1 with PKCE, signing in as alice; returns the token response. */
export async function codeFlow(origin: string): Promise<Record<string, string>> {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL('/auth', origin);
  url.search = new URLSearchParams({
    client_id: WEB1[0],
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile email',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state: randomBytes(16).toString('base64url'),
    nonce: randomBytes(16).toString('base64url'),
  }).toString();
  const callback = await new Browser(origin).authorize(url.href, { login: 'alice', password: SECRETS.alice });
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code in the callback: ${callback.search.slice(0, 200)}`);
  const tokens = await postToken(origin, WEB1, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
  if (!tokens['refresh_token']) throw new Error('the code flow gave no refresh token');
  return tokens;
}

/** Runs `count` tasks, `concurrency` at a time; fails on the first error. */
export async function inParallel<T>(count: number, concurrency: number, task: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started += 1;
      results.push(await task());
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}
