/**
 * What a resource server (an API that access tokens are issued for, RFC
 * 8707) may be: one set of rules for the setup file, the CLI and the
 * service. Messages name the field and never quote a value.
 */
import { isSigningAlgorithm, SIGNING_ALGORITHMS, type SigningAlgorithm } from '../keys/algorithms.ts';
import { isScopeToken, MAX_LIFETIME_SECONDS } from './client-field-rules.ts';
import { resourceIdentifierProblem } from './uri-rules.ts';

export const TOKEN_FORMATS = ['jwt', 'opaque'] as const;
export type TokenFormat = (typeof TOKEN_FORMATS)[number];

/**
 * ES256 unless the API needs otherwise: short signatures, fast to sign, and
 * a key every realm has from its first start. RS256 for APIs whose libraries
 * know nothing else.
 */
export const DEFAULT_ACCESS_TOKEN_ALGORITHM: SigningAlgorithm = 'ES256';
const MAX_SCOPES = 1000;

export interface ResourceServerDeclaration {
  /** The resource indicator, which becomes the access token's `aud`. */
  identifier: string;
  /** The scopes the API accepts; a token for it carries no other. */
  scopes: string[];
  access_token: {
    format: TokenFormat;
    /** Seconds; absent: the realm's (or the client's) access-token lifetime. */
    lifetime?: number | undefined;
    /** JWS algorithm of its JWT access tokens. */
    algorithm: SigningAlgorithm;
  };
}

export interface ResourceServerProblem {
  field: string;
  message: string;
}

export type ResourceServerCheck =
  | { server: ResourceServerDeclaration; problems: [] }
  | { server: undefined; problems: [ResourceServerProblem, ...ResourceServerProblem[]] };

export function checkResourceServer(input: Record<string, unknown>): ResourceServerCheck {
  const problems: ResourceServerProblem[] = [];
  const fail = (field: string, message: string) => { problems.push({ field, message }); };
  const known = new Set(['identifier', 'scopes', 'access_token']);
  for (const key of Object.keys(input)) if (!known.has(key)) fail(key, 'unknown property (check the spelling)');

  const { identifier, scopes = [], access_token: policy = {} } = input;
  if (typeof identifier !== 'string' || identifier === '') fail('identifier', 'is required');
  else {
    const problem = resourceIdentifierProblem(identifier);
    if (problem) fail('identifier', problem);
  }

  if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string')) fail('scopes', 'must be a list of scope names');
  else if (scopes.length > MAX_SCOPES) fail('scopes', `at most ${MAX_SCOPES}`);
  else if (scopes.some((s: string) => !isScopeToken(s))) fail('scopes', 'each must be a scope token (RFC 6749 §3.3: no spaces, quotes or backslashes)');
  else if (new Set(scopes).size !== scopes.length) fail('scopes', 'a scope is listed twice');
  else if (scopes.includes('openid') || scopes.includes('offline_access')) fail('scopes', 'openid and offline_access belong to the realm, not to an API');

  let format: TokenFormat = 'jwt';
  let lifetime: number | undefined;
  let algorithm: SigningAlgorithm = DEFAULT_ACCESS_TOKEN_ALGORITHM;
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) fail('access_token', 'must be an object');
  else {
    const fields = policy as Record<string, unknown>;
    for (const key of Object.keys(fields)) if (!['format', 'lifetime', 'algorithm'].includes(key)) fail(`access_token.${key}`, 'unknown property (check the spelling)');
    if (fields['format'] !== undefined) {
      if (!(TOKEN_FORMATS as readonly unknown[]).includes(fields['format'])) fail('access_token.format', `must be one of ${TOKEN_FORMATS.join(', ')}`);
      else format = fields['format'] as TokenFormat;
    }
    if (fields['lifetime'] !== undefined) {
      const value = fields['lifetime'];
      if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > MAX_LIFETIME_SECONDS) fail('access_token.lifetime', `must be a whole number of seconds from 1 to ${MAX_LIFETIME_SECONDS}`);
      else lifetime = value as number;
    }
    if (fields['algorithm'] !== undefined) {
      const value = fields['algorithm'];
      if (typeof value !== 'string' || !isSigningAlgorithm(value)) fail('access_token.algorithm', `must be one of ${SIGNING_ALGORITHMS.join(', ')}`);
      else algorithm = value;
    }
  }

  if (problems.length) return { server: undefined, problems: problems as [ResourceServerProblem, ...ResourceServerProblem[]] };
  return {
    server: { identifier: identifier as string, scopes: scopes as string[], access_token: { format, ...(lifetime === undefined ? {} : { lifetime }), algorithm } },
    problems: [],
  };
}
