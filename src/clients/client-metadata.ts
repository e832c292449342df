import type { StoredClient } from '../store/client.repository.ts';

export type { ClientPermission } from '../config/index.ts';

/**
 * Client metadata properties Latchkey adds to RFC 7591's, registered with
 * oidc-provider as `extraClientMetadata` so they travel with the client.
 * Their values are checked with the other fields by the client rules
 * (src/config/client-field-rules.ts).
 */
export const EXTRA_CLIENT_METADATA = [
  'permissions',                            // e.g. ['introspection']: a resource server
  'roles',                                  // the client's own roles, for client credentials with the `roles` scope
  'default_resource',                       // RFC 8707 resource its tokens are for when it names none
  'refresh_token_requires_offline_access',  // false (default): IFS/Keycloak behaviour
  'ttl',                                    // per-client token lifetimes (seconds)
  'background_uri',                         // login page branding (iPIM OAUTH2_BACKGROUND)
  'primary_color',
  'web_origins',                            // origins whose pages may call the token endpoint and userinfo (CORS), as Keycloak's webOrigins
] as const;

/**
 * The metadata oidc-provider sees. The stored hash stands in for
 * `client_secret`: oidc-provider needs a value there for confidential
 * clients, and Latchkey's compareClientSecret verifies against it. Symmetric
 * uses of the secret (client_secret_jwt, HS256 ID tokens) are disabled in the
 * provider configuration, so the hash is never used as a key.
 */
/**
 * The origins whose pages may read this client's answers across origins
 * (CORS at the token, userinfo, introspection and revocation endpoints, and
 * Keycloak's login-status iframe): its `web_origins`, where `+` stands for
 * the origins of its redirect URIs (Keycloak's notation); without
 * `web_origins`, the origins of its redirect URIs, oidc-provider's own
 * default. Private-use schemes (native apps) have the opaque origin `null`,
 * which no browser page can claim.
 */
export function webOriginsOf(client: { redirectUris?: readonly string[] | undefined; metadata(): Record<string, unknown> }): ReadonlySet<string> {
  const declared = client.metadata()['web_origins'];
  const redirectOrigins = (client.redirectUris ?? []).map((uri) => URL.parse(uri)?.origin).filter((origin): origin is string => !!origin && origin !== 'null');
  if (!Array.isArray(declared)) return new Set(redirectOrigins);
  return new Set(declared.flatMap((origin) => (origin === '+' ? redirectOrigins : [String(origin)])));
}

export function providerMetadata(
  row: Pick<StoredClient, 'client_id' | 'metadata' | 'secret_hash'> & Partial<Pick<StoredClient, 'previous_secret_hash' | 'previous_secret_expires_at'>>,
  now = new Date(),
): Record<string, unknown> {
  const previous = row.previous_secret_hash && row.previous_secret_expires_at && row.previous_secret_expires_at > now
    ? { [PREVIOUS_SECRET]: row.previous_secret_hash, [PREVIOUS_SECRET_EXPIRES_AT]: row.previous_secret_expires_at.getTime() / 1000 }
    : {};
  return {
    ...row.metadata,
    client_id: row.client_id,
    ...(row.secret_hash ? { client_secret: row.secret_hash } : {}),
    ...previous,
  };
}

/**
 * The stored form of the secret a client had before its last rotation, and
 * when it stops being accepted (epoch seconds, with their fraction: whole
 * seconds cut up to one off the overlap), while its overlap lasts
 * (src/oidc/client-authentication.ts accepts either). Registered as extra
 * client metadata so that it travels with the client; never declarable (the
 * client rules refuse unknown fields) and never shown (clientView).
 */
export const PREVIOUS_SECRET = 'latchkey_previous_secret';
export const PREVIOUS_SECRET_EXPIRES_AT = 'latchkey_previous_secret_expires_at';
