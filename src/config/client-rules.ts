/**
 * The one rulebook for clients. The setup file (declarative-setup.ts), the
 * CLI (`clients add`) and the client service — and through it the admin API
 * and registration — judge a client definition here, so that they accept
 * the same clients and refuse the others with the same words, production
 * refusals included.
 *
 *   definition ──▶ each field on its own ──▶ defaults filled in ──▶ fields together ──▶ client
 *                  (client-field-rules.ts)    (a confidential         (combinations)
 *                                              code-flow web client)
 *
 * The fields are judged together only when each is well-formed, so that one
 * typo does not come back as three problems. Combinations that oidc-provider
 * would refuse later, at a worse time (the client then fails at its first
 * request), or that make no sense (a public client with client credentials)
 * are refused here.
 */
import {
  ADMIN_REALM,
  ADMIN_SCOPES,
  FIELD_RULES,
  SECRET_AUTH_METHODS,
  isPlainObject,
  type AUTH_METHODS,
  type CLIENT_PERMISSIONS,
  type GRANT_TYPES,
  type Report,
  type RESPONSE_TYPES,
} from './client-field-rules.ts';
import type { SigningAlgorithm } from '../keys/algorithms.ts';
import { redirectUriProblem, type ApplicationType } from './uri-rules.ts';

export {
  ADMIN_REALM, ADMIN_SCOPES, APPLICATION_TYPES, AUTH_METHODS, CLIENT_LIFETIMES, CLIENT_PERMISSIONS, GRANT_TYPES, MAX_CODE_LIFETIME_SECONDS, MAX_LIFETIME_SECONDS,
} from './client-field-rules.ts';

export interface ClientProblem {
  /** Where, inside the definition: `redirect_uris[0]`, `ttl.session`; '' for the definition as a whole. */
  field: string;
  /** What is wrong, in words; never the value (it may be a secret). */
  message: string;
}

export interface ClientRuleContext {
  /** NODE_ENV=production: development conveniences (http://localhost redirects for web clients) are refused. */
  production: boolean;
  /**
   * Latchkey generates the secret (`clients add`, registration): the
   * definition carries none, and its auth method must be one that uses it.
   */
  secretGenerated?: boolean;
  /** The realm the client is for, where the caller knows it: the `admin` permission is the admin realm's only. */
  realm?: string | undefined;
}

export type { ApplicationType };

/** JSON.stringify writes NUL as \u0000 and a lone surrogate as \udXXX (as src/oidc/payload-adapter.ts checks). */
const UNSTORABLE_JSON = /\\u0000|\\ud[89a-f][0-9a-f]{2}/i;
export type GrantType = typeof GRANT_TYPES[number];
export type AuthMethod = typeof AUTH_METHODS[number];
export type ResponseType = typeof RESPONSE_TYPES[number];
export type ClientPermission = typeof CLIENT_PERMISSIONS[number];

/**
 * A client definition as the rules accept it (RFC 7591 names; see
 * FIELD_RULES). A type, not an interface, so that it is also a plain record
 * of metadata for the client service and the store.
 */
export type ClientMetadata = {
  client_id: string;
  client_secret?: string | undefined;
  client_name?: string | undefined;
  application_type?: ApplicationType | undefined;
  token_endpoint_auth_method?: AuthMethod | undefined;
  grant_types?: GrantType[] | undefined;
  response_types?: ResponseType[] | undefined;
  redirect_uris?: string[] | undefined;
  post_logout_redirect_uris?: string[] | undefined;
  web_origins?: string[] | undefined;
  scope?: string | undefined;
  permissions?: ClientPermission[] | undefined;
  roles?: string[] | undefined;
  default_resource?: string | undefined;
  introspection_signed_response_alg?: SigningAlgorithm | undefined;
  refresh_token_requires_offline_access?: boolean | undefined;
  ttl?: Record<string, number> | undefined;
  jwks_uri?: string | undefined;
  jwks?: { keys: Record<string, unknown>[] } | undefined;
  client_uri?: string | undefined;
  logo_uri?: string | undefined;
  policy_uri?: string | undefined;
  tos_uri?: string | undefined;
  background_uri?: string | undefined;
  primary_color?: string | undefined;
  contacts?: string[] | undefined;
};

/** A client after defaults are filled in: what the client service stores. */
export type ClientDeclaration = ClientMetadata & {
  application_type: ApplicationType;
  token_endpoint_auth_method: AuthMethod;
  grant_types: GrantType[];
  response_types: ResponseType[];
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
};

export type ClientCheck =
  | { client: ClientDeclaration; problems: readonly [] }
  | { client: undefined; problems: readonly [ClientProblem, ...ClientProblem[]] };

/** Judges a definition: the client with its defaults, or every problem found (in a fixed order). */
export function checkClient(definition: unknown, context: ClientRuleContext): ClientCheck {
  if (!isPlainObject(definition)) return { client: undefined, problems: [{ field: '', message: 'must be an object' }] };
  const problems: ClientProblem[] = [];
  const report: Report = (field, message) => { problems.push({ field, message }); };

  const given = Object.fromEntries(Object.entries(definition).filter(([, value]) => value !== undefined));
  // A misspelt field first: it usually explains whatever else looks missing.
  for (const field of Object.keys(given)) {
    if (!Object.hasOwn(FIELD_RULES, field)) report(field, 'unknown property (check the spelling)');
  }
  if (given['client_id'] === undefined) report('client_id', 'is required');
  for (const [field, rule] of Object.entries(FIELD_RULES)) {
    if (given[field] === undefined) continue;
    // PostgreSQL's jsonb cannot hold NUL or lone surrogates: refused here, with the field named, rather than failing at the store.
    const problem = storageProblem(given[field]);
    if (problem) report(field, problem);
    else rule(given[field], field, report);
  }
  if (problems.length === 0) {
    const client = withDefaults(given as unknown as ClientMetadata, context.secretGenerated ?? false);
    combinationProblems(client, context, report);
    if (problems.length === 0) return { client, problems: [] };
  }
  return { client: undefined, problems: problems as [ClientProblem, ...ClientProblem[]] };
}

/** The problems of a definition; none when it may be stored. */
export function clientProblems(definition: unknown, context: ClientRuleContext): readonly ClientProblem[] {
  return checkClient(definition, context).problems;
}

/**
 * Where Latchkey issues the secret (`latchkey clients add`, the admin API)
 * there is no declared secret to infer the auth method from, so when the
 * definition names none, one is picked: none for a native app (RFC 8252
 * §8.4: it cannot keep a secret), private_key_jwt for a client that
 * publishes keys, otherwise client_secret_basic with a generated secret.
 * `generateSecret` says whether the method uses one.
 */
export function withIssuedSecretMethod<T extends Record<string, unknown>>(definition: T): { definition: T; generateSecret: boolean } {
  const given = definition['token_endpoint_auth_method'];
  const method = given !== undefined ? given
    : definition['application_type'] === 'native' ? 'none'
      : definition['jwks_uri'] !== undefined || definition['jwks'] !== undefined ? 'private_key_jwt'
        : 'client_secret_basic';
  return {
    definition: { ...definition, token_endpoint_auth_method: method },
    generateSecret: typeof method === 'string' && SECRET_AUTH_METHODS.includes(method),
  };
}

/** What PostgreSQL's jsonb, or serializing the value at all, would fail on. */
function storageProblem(value: unknown): string | undefined {
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch {
    return 'is nested too deeply';
  }
  return UNSTORABLE_JSON.test(json) ? 'must be valid Unicode text without NUL characters' : undefined;
}

/** A problem as one line, `field: message`: what every edge reports (the file puts its path in front). */
export function describeClientProblem({ field, message }: ClientProblem): string {
  return field ? `${field}: ${message}` : message;
}

/**
 * The defaults a person would expect: a web client using the code flow with
 * refresh tokens; confidential with client_secret_basic when it has (or will
 * be given) a secret, private_key_jwt when it publishes keys, public
 * otherwise.
 */
function withDefaults(client: ClientMetadata, secretGenerated: boolean): ClientDeclaration {
  const grants = client.grant_types ?? ['authorization_code', 'refresh_token'];
  const codeFlow = grants.includes('authorization_code');
  const hasKeys = client.jwks_uri !== undefined || client.jwks !== undefined;
  return {
    ...client,
    application_type: client.application_type ?? 'web',
    token_endpoint_auth_method: client.token_endpoint_auth_method
      ?? (client.client_secret !== undefined || secretGenerated ? 'client_secret_basic' : hasKeys ? 'private_key_jwt' : 'none'),
    grant_types: grants,
    response_types: client.response_types ?? (codeFlow ? ['code'] : []),
    redirect_uris: client.redirect_uris ?? [],
    post_logout_redirect_uris: client.post_logout_redirect_uris ?? [],
    ...(client.scope !== undefined ? { scope: client.scope.split(' ').filter(Boolean).join(' ') } : {}),
  };
}

function combinationProblems(client: ClientDeclaration, { production, secretGenerated = false, realm }: ClientRuleContext, report: Report): void {
  const grants = client.grant_types;
  const codeFlow = grants.includes('authorization_code');
  const method = client.token_endpoint_auth_method;
  const usesSecret = SECRET_AUTH_METHODS.includes(method);

  // Only the code flow signs users in (RFC 9700 §2.1.2: no implicit, no hybrid).
  if (grants.length === 0) report('grant_types', 'at least one grant type is required');
  else if (grants.includes('refresh_token') && !codeFlow && !grants.includes('password')) report('grant_types', 'refresh_token needs authorization_code or password too');
  if (client.response_types.includes('code') !== codeFlow) {
    report('response_types', codeFlow ? 'must include code for the authorization_code grant' : 'must be [] without the authorization_code grant');
  }

  if (secretGenerated) {
    if (client.client_secret !== undefined) report('client_secret', 'not accepted here: Latchkey generates the secret');
    else if (!usesSecret) report('token_endpoint_auth_method', `a generated secret is used only with ${SECRET_AUTH_METHODS.join(' or ')}`);
  } else if (usesSecret && client.client_secret === undefined) {
    report('client_secret', `required for token_endpoint_auth_method ${method}`);
  } else if (!usesSecret && client.client_secret !== undefined) {
    report('client_secret', `not used with token_endpoint_auth_method ${method}: remove it`);
  }
  if (method === 'none') {
    if (grants.includes('client_credentials')) report('grant_types', 'a public client (token_endpoint_auth_method none) cannot use client_credentials');
    if (client.permissions?.length) report('permissions', 'a public client (token_endpoint_auth_method none) cannot authenticate to use them');
  }

  adminProblems(client, realm, report);

  // Client keys serve private_key_jwt only: request objects and encryption are not enabled.
  const keyField = client.jwks_uri !== undefined ? 'jwks_uri' : client.jwks !== undefined ? 'jwks' : undefined;
  if (client.jwks_uri !== undefined && client.jwks !== undefined) report('jwks', 'give jwks_uri or jwks, not both (RFC 7591 §2)');
  else if (method === 'private_key_jwt' && !keyField) report('jwks_uri', 'private_key_jwt needs jwks_uri or jwks');
  else if (method !== 'private_key_jwt' && keyField) report(keyField, 'only used with token_endpoint_auth_method private_key_jwt');

  if (codeFlow && client.redirect_uris.length === 0) report('redirect_uris', 'at least one is required for the authorization_code grant');
  if (!codeFlow && client.redirect_uris.length) report('redirect_uris', 'only the authorization_code grant uses redirect URIs');
  if (!codeFlow && client.post_logout_redirect_uris.length) report('post_logout_redirect_uris', 'only the authorization_code grant signs users in');
  for (const field of ['redirect_uris', 'post_logout_redirect_uris'] as const) {
    client[field].forEach((uri, i) => {
      const problem = redirectUriProblem(uri, client.application_type, { production });
      if (problem) report(`${field}[${i}]`, problem);
    });
  }
}

/**
 * The admin API accepts client-credentials tokens of the admin realm, from
 * clients holding the `admin` permission, carrying an admin scope
 * (src/admin/admin-authentication.ts). A definition that looks like an
 * admin client and could never be one is refused, so that nobody believes
 * it grants what it does not.
 */
function adminProblems(client: ClientDeclaration, realm: string | undefined, report: Report): void {
  const admin = client.permissions?.includes('admin') ?? false;
  const adminScopes = (client.scope ?? '').split(' ').filter((scope) => ADMIN_SCOPES.includes(scope));
  if (!admin) {
    if (adminScopes.length) report('scope', `${adminScopes[0]!} is issued only to clients with permissions [admin]`);
    return;
  }
  if (realm !== undefined && realm !== ADMIN_REALM) report('permissions', `admin is granted only in the ${ADMIN_REALM} realm, whose tokens the admin API accepts`);
  if (!client.grant_types.includes('client_credentials')) report('grant_types', 'permissions [admin] needs client_credentials: admin tokens come only from that grant');
  if (!adminScopes.length) report('scope', `permissions [admin] needs ${ADMIN_SCOPES.join(' or ')} in scope`);
}
