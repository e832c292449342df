import type { Configuration } from 'oidc-provider';

/**
 * A realm's layout: where its endpoints live and what its tokens look like,
 * so that an application written for the IdP it replaces can be pointed at
 * Latchkey by changing its base URL only.
 *
 * - `standard`: Latchkey's own paths (`/auth`, `/token`, …); the `default`
 *   realm at the root, others under `/realms/<name>/`.
 * - `keycloak`: Keycloak's (and so IFS Cloud's): issuer
 *   `<base>[<path_prefix>]/realms/<name>`, endpoints under
 *   `/protocol/openid-connect/`, JWT access tokens with Keycloak's claims
 *   (`typ`, `azp`, `realm_access`, …), JWT-shaped refresh tokens and the
 *   token response's extra fields (src/oidc/keycloak-shapes.ts).
 * - `okta`: an Okta custom authorization server's: issuer
 *   `<base>/oauth2/<id>`, endpoints under `/v1/`, JWT access tokens with
 *   Okta's claims (`ver`, `cid`, `uid`, `scp`; src/oidc/okta-shapes.ts).
 *
 * Keycloak and Okta issue JWT access tokens whether or not the client names
 * an API, so in their layouts a token that names no resource server is a
 * JWT for the layout's audience (Keycloak's `account`, Okta's
 * `api://default`) and, as there, is also accepted at userinfo.
 */
export type LayoutDeclaration =
  | { type: 'standard' }
  | { type: 'keycloak'; path_prefix?: string | undefined; audience?: string | undefined }
  | { type: 'okta'; authorization_server?: string | undefined; audience?: string | undefined };

export type LayoutKind = LayoutDeclaration['type'];

export interface RealmLayout {
  kind: LayoutKind;
  /** Path (ending in `/`) where the realm is mounted; its issuer is the base URL with this path, without the last `/`. */
  mountPath: string;
  /** oidc-provider's `routes`, relative to the mount. */
  routes: NonNullable<Configuration['routes']>;
  /** `aud` of access tokens that name no resource server (then JWTs); none in the standard layout (opaque tokens). */
  defaultAudience?: string | undefined;
}

const KEYCLOAK_ROUTES = {
  authorization: '/protocol/openid-connect/auth',
  token: '/protocol/openid-connect/token',
  introspection: '/protocol/openid-connect/token/introspect',
  revocation: '/protocol/openid-connect/revoke',
  userinfo: '/protocol/openid-connect/userinfo',
  jwks: '/protocol/openid-connect/certs',
  end_session: '/protocol/openid-connect/logout',
  pushed_authorization_request: '/protocol/openid-connect/ext/par/request',
  // Keycloak's OIDC client registration endpoint (RFC 7591), where the realm enables registration.
  registration: '/clients-registrations/openid-connect',
} as const;

const OKTA_ROUTES = {
  authorization: '/v1/authorize',
  token: '/v1/token',
  introspection: '/v1/introspect',
  revocation: '/v1/revoke',
  userinfo: '/v1/userinfo',
  jwks: '/v1/keys',
  end_session: '/v1/logout',
  pushed_authorization_request: '/v1/par',
} as const;

/**
 * A path prefix for Keycloak's layout: the setup file's `path_prefix` and
 * LATCHKEY_KEYCLOAK_PATH_PREFIX. One to four segments, none of them `.` or
 * `..` (which a client or proxy would resolve away).
 */
export const PATH_PREFIX = /^(\/(?!\.{1,2}(?:\/|$))[A-Za-z0-9._~-]+){1,4}$/;

/** Keycloak's audience for tokens of no particular API (its `account` client). */
export const KEYCLOAK_DEFAULT_AUDIENCE = 'account';

/** `keycloakPathPrefix`: the deployment's (LATCHKEY_KEYCLOAK_PATH_PREFIX), for Keycloak realms that give none. */
export function realmLayout(realmName: string, declared: LayoutDeclaration = { type: 'standard' }, { keycloakPathPrefix }: { keycloakPathPrefix?: string | undefined } = {}): RealmLayout {
  switch (declared.type) {
    case 'standard':
      return { kind: 'standard', mountPath: realmName === 'default' ? '/' : `/realms/${realmName}/`, routes: {} };
    case 'keycloak':
      return {
        kind: 'keycloak',
        mountPath: `${declared.path_prefix ?? keycloakPathPrefix ?? ''}/realms/${realmName}/`,
        routes: KEYCLOAK_ROUTES,
        defaultAudience: declared.audience ?? KEYCLOAK_DEFAULT_AUDIENCE,
      };
    case 'okta': {
      const id = declared.authorization_server ?? realmName;
      return { kind: 'okta', mountPath: `/oauth2/${id}/`, routes: OKTA_ROUTES, defaultAudience: declared.audience ?? `api://${id}` };
    }
  }
}

/** The realm's issuer: the public base URL and its mount path, without the trailing `/`. */
export function issuerAt(baseIssuer: string, mountPath: string): string {
  return mountPath === '/' ? baseIssuer : `${baseIssuer}${mountPath.slice(0, -1)}`;
}
