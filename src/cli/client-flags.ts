import type { ClientDefinition } from '../clients/client-service.ts';
import { brandingNameProblem, brandingUrlProblem, colorProblem } from '../config/branding-rules.ts';
import { httpsUrlProblem, redirectUriProblem } from '../config/index.ts';
import { hasControlCharacters, printable, UsageError } from './command-line.ts';

/**
 * Turns `latchkey clients add` flags into a client definition (RFC 7591
 * names), checked with the config file's own rules so that the CLI and the
 * file accept the same clients; each error names the flag.
 */
export const GRANTS = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;
export const PERMISSIONS = ['introspection'] as const;

export interface ClientFlags {
  name?: string | undefined;
  'redirect-uri'?: string[] | undefined;
  'post-logout-redirect-uri'?: string[] | undefined;
  grant?: string[] | undefined;
  'auth-method'?: string | undefined;
  'jwks-uri'?: string | undefined;
  scope?: string | undefined;
  permission?: string[] | undefined;
  native?: boolean | undefined;
  'logo-uri'?: string | undefined;
  'background-uri'?: string | undefined;
  'primary-color'?: string | undefined;
  'policy-uri'?: string | undefined;
  'tos-uri'?: string | undefined;
}

export const CLIENT_FLAG_OPTIONS = {
  realm: { type: 'string' },
  name: { type: 'string' },
  'redirect-uri': { type: 'string', multiple: true },
  'post-logout-redirect-uri': { type: 'string', multiple: true },
  grant: { type: 'string', multiple: true },
  'auth-method': { type: 'string' },
  'jwks-uri': { type: 'string' },
  scope: { type: 'string' },
  permission: { type: 'string', multiple: true },
  native: { type: 'boolean' },
  'logo-uri': { type: 'string' },
  'background-uri': { type: 'string' },
  'primary-color': { type: 'string' },
  'policy-uri': { type: 'string' },
  'tos-uri': { type: 'string' },
} as const;

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function clientIdProblem(clientId: string): string | undefined {
  if (clientId.length > 256) return 'at most 256 characters';
  if (/\s/.test(clientId) || hasControlCharacters(clientId)) return 'no spaces or control characters';
  return undefined;
}

export function clientDefinitionFromFlags(clientId: string, flags: ClientFlags): ClientDefinition {
  const idProblem = clientIdProblem(clientId);
  if (idProblem) throw new UsageError(`ID: ${idProblem}`);

  const applicationType = flags.native ? 'native' : 'web';
  const grants = unique(flags.grant ?? ['authorization_code', 'refresh_token']);
  for (const grant of grants) oneOf('--grant', grant, GRANTS);
  // RFC 8252 §8.4: a native app cannot keep a secret, so it is public unless told otherwise.
  const authMethod = oneOf('--auth-method', flags['auth-method'] ?? (flags.native ? 'none' : 'client_secret_basic'), AUTH_METHODS);
  const permissions = unique(flags.permission ?? []);
  for (const permission of permissions) oneOf('--permission', permission, PERMISSIONS);
  const redirectUris = unique(flags['redirect-uri'] ?? []);
  const postLogoutUris = unique(flags['post-logout-redirect-uri'] ?? []);
  const codeFlow = grants.includes('authorization_code');

  if (codeFlow && redirectUris.length === 0) {
    throw new UsageError('--redirect-uri: at least one is required for the authorization_code grant (or choose --grant client_credentials)');
  }
  if (!codeFlow && redirectUris.length) throw new UsageError('--redirect-uri: only the authorization_code grant uses redirect URIs');
  if (!codeFlow && postLogoutUris.length) throw new UsageError('--post-logout-redirect-uri: only the authorization_code grant signs users in');
  if (grants.includes('refresh_token') && !codeFlow) throw new UsageError('--grant refresh_token: needs --grant authorization_code too');
  for (const uri of redirectUris) uriCheck('--redirect-uri', uri, redirectUriProblem(uri, applicationType));
  for (const uri of postLogoutUris) uriCheck('--post-logout-redirect-uri', uri, redirectUriProblem(uri, applicationType));

  if (authMethod === 'none') {
    if (grants.includes('client_credentials')) throw new UsageError('--grant client_credentials: a public client (--auth-method none) has no credentials to present');
    if (permissions.length) throw new UsageError('--permission: a public client (--auth-method none) cannot authenticate to use it');
  }
  const jwksUri = flags['jwks-uri'];
  if (authMethod === 'private_key_jwt' && !jwksUri) throw new UsageError('--jwks-uri: required with --auth-method private_key_jwt (where the client publishes its keys)');
  if (jwksUri !== undefined) {
    if (authMethod !== 'private_key_jwt') throw new UsageError('--jwks-uri: only used with --auth-method private_key_jwt');
    uriCheck('--jwks-uri', jwksUri, httpsUrlProblem(jwksUri));
  }

  const scopes = flags.scope?.split(' ').filter(Boolean);
  if (flags.scope !== undefined && (!scopes?.length || !scopes.every((s) => SCOPE_TOKEN.test(s)))) {
    throw new UsageError('--scope: space-separated scope names of printable characters (no quotes or backslashes)');
  }
  if (flags.name !== undefined) {
    const problem = brandingNameProblem(flags.name);
    if (problem) throw new UsageError(`--name: ${problem}`);
  }
  // Branding (README "Branding"): the renderer's own rules, so nothing refused there is stored.
  const branding: Record<string, string> = {};
  for (const [flag, field, standard] of [['logo-uri', 'logo_uri', true], ['background-uri', 'background_uri', false], ['policy-uri', 'policy_uri', true], ['tos-uri', 'tos_uri', true]] as const) {
    const value = flags[flag];
    if (value === undefined) continue;
    const problem = brandingUrlProblem(value) ?? (standard ? httpsUrlProblem(value) : undefined);
    if (problem) throw new UsageError(`--${flag}: ${problem}`);
    branding[field] = value;
  }
  if (flags['primary-color'] !== undefined) {
    const problem = colorProblem(flags['primary-color']);
    if (problem) throw new UsageError(`--primary-color: ${problem}`);
    branding['primary_color'] = flags['primary-color'];
  }

  return {
    client_id: clientId,
    ...(flags.name !== undefined ? { client_name: flags.name } : {}),
    application_type: applicationType,
    token_endpoint_auth_method: authMethod,
    grant_types: grants,
    response_types: codeFlow ? ['code'] : [],
    redirect_uris: redirectUris,
    post_logout_redirect_uris: postLogoutUris,
    ...(scopes ? { scope: unique(scopes).join(' ') } : {}),
    ...(jwksUri ? { jwks_uri: jwksUri } : {}),
    ...(permissions.length ? { permissions } : {}),
    ...branding,
  };
}

/** Only these methods authenticate with a client secret. */
export function usesClientSecret(definition: ClientDefinition): boolean {
  return definition['token_endpoint_auth_method'] === 'client_secret_basic' || definition['token_endpoint_auth_method'] === 'client_secret_post';
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag}: must be one of ${allowed.join(', ')}`);
  return value as T;
}

function uriCheck(flag: string, uri: string, problem: string | undefined): void {
  if (problem) throw new UsageError(`${flag} ${printable(uri)}: ${problem}`);
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
