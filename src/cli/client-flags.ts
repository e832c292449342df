import type { ClientDefinition } from '../clients/client-service.ts';
import {
  AUTH_METHODS, checkClient, CLIENT_PERMISSIONS, describeClientProblem, GRANT_TYPES, withIssuedSecretMethod, type ClientDeclaration,
} from '../config/index.ts';
import { UsageError } from '../errors/index.ts';

/**
 * Turns `latchkey clients add` flags into a client definition (RFC 7591
 * names) and judges it with the client rules (src/config/client-rules.ts)
 * that the setup file and the client service apply, in the same context:
 * the same clients are accepted, and a refusal is the file's message, naming
 * the RFC 7591 field (`redirect_uris[0]: must use https…`).
 */
export { AUTH_METHODS, GRANT_TYPES };
export const PERMISSIONS = CLIENT_PERMISSIONS;

export interface ClientFlags {
  name?: string | undefined;
  'redirect-uri'?: string[] | undefined;
  'post-logout-redirect-uri'?: string[] | undefined;
  grant?: string[] | undefined;
  'auth-method'?: string | undefined;
  'jwks-uri'?: string | undefined;
  scope?: string | undefined;
  permission?: string[] | undefined;
  role?: string[] | undefined;
  'default-resource'?: string | undefined;
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
  role: { type: 'string', multiple: true },
  'default-resource': { type: 'string' },
  native: { type: 'boolean' },
  'logo-uri': { type: 'string' },
  'background-uri': { type: 'string' },
  'primary-color': { type: 'string' },
  'policy-uri': { type: 'string' },
  'tos-uri': { type: 'string' },
} as const;

/** The field each flag sets; `--native` and `--auth-method` are translated below. */
const FLAG_FIELDS = [
  ['name', 'client_name'],
  ['grant', 'grant_types'],
  ['redirect-uri', 'redirect_uris'],
  ['post-logout-redirect-uri', 'post_logout_redirect_uris'],
  ['scope', 'scope'],
  ['permission', 'permissions'],
  ['role', 'roles'],
  ['default-resource', 'default_resource'],
  ['jwks-uri', 'jwks_uri'],
  ['logo-uri', 'logo_uri'],
  ['background-uri', 'background_uri'],
  ['primary-color', 'primary_color'],
  ['policy-uri', 'policy_uri'],
  ['tos-uri', 'tos_uri'],
] as const satisfies readonly (readonly [keyof ClientFlags, string])[];

/**
 * The definition the flags describe, unjudged. The CLI never takes a chosen
 * secret: where no --auth-method is given, it is picked as for every client
 * whose secret Latchkey issues (withIssuedSecretMethod in
 * src/config/client-rules.ts).
 */
export function clientDefinitionFromFlags(clientId: string, flags: ClientFlags): ClientDefinition {
  const definition: ClientDefinition = {
    client_id: clientId,
    ...(flags.native ? { application_type: 'native' } : {}),
    ...(flags['auth-method'] !== undefined ? { token_endpoint_auth_method: flags['auth-method'] } : {}),
  };
  for (const [flag, field] of FLAG_FIELDS) {
    if (flags[flag] !== undefined) definition[field] = flags[flag];
  }
  return withIssuedSecretMethod(definition).definition;
}

/** The client the flags describe, with its defaults, or a usage error naming the field the rules refuse. */
export function clientFromFlags(clientId: string, flags: ClientFlags, { production, realm }: { production: boolean; realm: string }): ClientDeclaration {
  const definition = clientDefinitionFromFlags(clientId, flags);
  const check = checkClient(definition, { production, realm, secretGenerated: usesClientSecret(definition) });
  if (check.client === undefined) throw new UsageError(describeClientProblem(check.problems[0]));
  return check.client;
}

/** Only these methods authenticate with a client secret. */
export function usesClientSecret(definition: Readonly<Record<string, unknown>>): boolean {
  const method = definition['token_endpoint_auth_method'];
  return method === 'client_secret_basic' || method === 'client_secret_post';
}
