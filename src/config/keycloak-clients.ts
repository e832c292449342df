/**
 * A Keycloak client (ClientRepresentation) as a Latchkey client definition,
 * which the client rules (client-rules.ts) then judge like any other:
 *
 * | Keycloak                                   | Latchkey                                              |
 * |--------------------------------------------|-------------------------------------------------------|
 * | clientId, name                             | client_id, client_name                                |
 * | publicClient                               | token_endpoint_auth_method none                       |
 * | clientAuthenticatorType client-secret      | client_secret_basic with `secret`                     |
 * | clientAuthenticatorType client-jwt         | private_key_jwt with attribute jwks.url (use.jwks.url)|
 * | standardFlowEnabled (default true)         | authorization_code (+ refresh_token)                  |
 * | directAccessGrantsEnabled                  | password (+ refresh_token)                            |
 * | serviceAccountsEnabled                     | client_credentials; its service account's roles → roles |
 * | attribute use.refresh.tokens "false"       | no refresh_token grant                                |
 * | redirectUris (relative ones on rootUrl)    | redirect_uris, exact ones only                        |
 * | attribute post.logout.redirect.uris (`##`, `+`) | post_logout_redirect_uris                        |
 * | webOrigins (`+`, origins)                  | web_origins (a `*` is listed, not imported)           |
 * | defaultClientScopes, optionalClientScopes  | scope (with openid for clients that sign users in)    |
 * | attribute access.token.lifespan            | ttl.access_token, client_credentials, id_token        |
 * | attribute client.session.idle.timeout / max.lifespan | ttl.refresh_token (the smallest, with the realm's) |
 * | attributes logoUri, policyUri, tosUri      | logo_uri, policy_uri, tos_uri                         |
 *
 * Clients Latchkey cannot represent are not imported and the summary says
 * why: Keycloak's built-in ones, SAML, disabled and bearer-only clients, a
 * masked secret (`**********`, the admin console's partial export),
 * authenticators Latchkey has no equivalent of, a code-flow client whose
 * redirect URIs all have wildcards. A wildcard redirect URI is never
 * widened or guessed: it is listed, and the exact ones are imported.
 */
import { isScopeToken, MAX_LIFETIME_SECONDS, webOriginProblem } from './client-field-rules.ts';
import { brandingNameProblem } from './branding-rules.ts';
import { Findings, shown, type KeycloakObject } from './keycloak-fields.ts';
import { httpsUrlProblem } from './uri-rules.ts';

/** Created by Keycloak in every realm (and `<realm>-realm` in master, one per realm it administers). */
export const BUILT_IN_CLIENTS = ['account', 'account-console', 'admin-cli', 'broker', 'realm-management', 'security-admin-console'] as const;

export function isBuiltInClient(clientId: string, keycloakRealm: string): boolean {
  return (BUILT_IN_CLIENTS as readonly string[]).includes(clientId) || (keycloakRealm === 'master' && clientId.endsWith('-realm'));
}

export interface ClientContext {
  keycloakRealm: string;
  /** The realm's refresh-token lifetime, which a client's session timeouts can only shorten. */
  realmRefreshSeconds: number | undefined;
  /** The effective realm roles of each client's service-account user, by clientId. */
  serviceAccountRoles: ReadonlyMap<string, readonly string[]>;
  skipped: Findings;
  attention: Findings;
  notImported: Findings;
  notes: Findings;
}

export interface TranslatedClient {
  definition: Record<string, unknown>;
  /** A public client with the password grant: its realm must allow that. */
  publicPasswordGrant: boolean;
  /** Uses the code flow without Keycloak having asked it for PKCE (Latchkey always does). */
  pkceNewlyRequired: boolean;
}

/**
 * Attributes Keycloak writes for every client whatever it does (or that
 * only mean something for SAML); listed as not imported only when set to
 * something other than these.
 */
const ATTRIBUTE_DEFAULTS: Readonly<Record<string, string>> = {
  'use.refresh.tokens': 'true',
  'backchannel.logout.session.required': 'true',
  'frontchannel.logout.session.required': 'true',
  'display.on.consent.screen': 'true',
};
const NOTHING_ATTRIBUTES = new Set(['', 'false', '{}', '[]']);

export function translateClient(client: KeycloakObject, context: ClientContext): TranslatedClient | undefined {
  const { skipped, attention, notImported, notes } = context;
  const clientId = client.string('clientId') ?? client.fail('clientId', 'is required');
  const name = shown(clientId);
  // Keycloak's bookkeeping and descriptions: nothing for Latchkey to carry over.
  client.ignore('id', 'description', 'surrogateAuthRequired', 'alwaysDisplayInConsole', 'notBefore', 'nodeReRegistrationTimeout',
    'registeredNodes', 'access', 'origin', 'baseUrl', 'registrationAccessToken', 'defaultRoles', 'frontchannelLogout');
  const leaveOut = (findings: Findings, topic: string, detail = name): undefined => {
    findings.add(topic, detail);
    client.ignore(...client.keys());
    return undefined;
  };
  const attributes = client.object('attributes');
  if (isBuiltInClient(clientId, context.keycloakRealm) || attributes?.string('realm_client') === 'true') {
    return leaveOut(skipped, 'Keycloak built-in clients');
  }
  const protocol = client.string('protocol') ?? 'openid-connect';
  if (protocol !== 'openid-connect') return leaveOut(notImported, 'clients of another protocol than OpenID Connect', `${name} (${shown(protocol)})`);
  if (client.boolean('enabled') === false) return leaveOut(notImported, 'disabled clients');
  if (client.boolean('bearerOnly')) {
    return leaveOut(notImported, 'bearer-only clients (they only accept tokens: in Latchkey a resource server, plus a client with permissions [introspection] if it introspects)');
  }

  // Authentication.
  const publicClient = client.boolean('publicClient') ?? false;
  const authenticator = client.string('clientAuthenticatorType') ?? 'client-secret';
  const secret = client.string('secret');
  let authentication: Record<string, unknown>;
  if (publicClient) {
    authentication = { token_endpoint_auth_method: 'none' };
  } else if (authenticator === 'client-secret') {
    if (secret === undefined || /^\*+$/.test(secret)) {
      return leaveOut(attention, 'clients not imported because the export holds no secret for them (the admin console\'s partial export masks secrets as **********): export with `kc.sh export`, or write the secret into the file');
    }
    authentication = { token_endpoint_auth_method: 'client_secret_basic', client_secret: secret };
  } else if (authenticator === 'client-jwt' && attributes?.string('use.jwks.url') === 'true' && attributes.string('jwks.url')) {
    authentication = { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: attributes.string('jwks.url') };
  } else {
    const why = authenticator === 'client-jwt' ? 'signed JWTs checked against a certificate: give Latchkey a jwks.url'
      : authenticator === 'client-secret-jwt' ? 'client_secret_jwt needs the secret in clear, and Latchkey stores secrets hashed'
        : authenticator === 'client-x509' ? 'mutual TLS' : 'an authenticator Latchkey does not have';
    return leaveOut(attention, 'clients not imported because of how they authenticate', `${name} (${shown(authenticator)}: ${why})`);
  }
  attributes?.ignore('jwt.credential.certificate', 'token.endpoint.auth.signing.alg', 'client.secret.creation.time', 'use.jwks.url', 'jwks.url');

  // Redirect URIs: exact ones only; relative ones are relative to rootUrl, as in Keycloak.
  const rootUrl = client.string('rootUrl');
  const base = rootUrl && !rootUrl.includes('${') && /^https?:\/\//.test(rootUrl) ? rootUrl.replace(/\/+$/, '') : undefined;
  const redirects = sortUris(client.strings('redirectUris') ?? [], base);
  const standardFlow = client.boolean('standardFlowEnabled') ?? true;
  const directGrant = client.boolean('directAccessGrantsEnabled') ?? false;
  const serviceAccount = client.boolean('serviceAccountsEnabled') ?? false;
  let codeFlow = standardFlow;
  if (standardFlow && redirects.exact.length === 0) {
    if (redirects.inexact.length) {
      return leaveOut(attention, 'clients not imported because every redirect URI has a wildcard or is relative without a rootUrl (Latchkey needs exact redirect URIs: write them into the export)', `${name}: ${redirects.inexact.map(shown).join(' ')}`);
    }
    codeFlow = false;
    if (!directGrant && !serviceAccount) return leaveOut(notImported, 'clients with no redirect URI and no other flow (they could not get a token in Keycloak either)');
    notes.add('clients with the standard flow on but no redirect URI (it could sign nobody in): imported without the authorization code grant', name);
  }
  if (codeFlow) for (const uri of redirects.inexact) attention.add('redirect URIs not imported (wildcards or relative without a rootUrl; Latchkey needs exact redirect URIs: add the exact ones)', `${name}: ${shown(uri)}`);
  if (client.boolean('implicitFlowEnabled')) notImported.add('the implicit flow (RFC 9700 §2.1.2: Latchkey offers the code flow only)', name);
  if (serviceAccount && publicClient) notes.add('public clients with service accounts on (Keycloak ignores that too): no client_credentials', name);

  const refreshTokens = attributes?.string('use.refresh.tokens') !== 'false';
  const grants = [
    ...(codeFlow ? ['authorization_code'] : []),
    ...(directGrant ? ['password'] : []),
    ...(serviceAccount && !publicClient ? ['client_credentials'] : []),
    ...((codeFlow || directGrant) && refreshTokens ? ['refresh_token'] : []),
  ];
  if (grants.length === 0) return leaveOut(notImported, 'clients with no flow enabled');

  // Post-logout redirect URIs: `##`-separated, `+` meaning "the redirect URIs".
  const postLogout: string[] = [];
  for (const uri of (attributes?.string('post.logout.redirect.uris') ?? '').split('##').filter(Boolean)) {
    if (uri === '+') postLogout.push(...redirects.exact);
    else {
      const sorted = sortUris([uri], base);
      postLogout.push(...sorted.exact);
      if (codeFlow) for (const inexact of sorted.inexact) attention.add('post-logout redirect URIs not imported (wildcards or relative without a rootUrl)', `${name}: ${shown(inexact)}`);
    }
  }

  const pkce = attributes?.string('pkce.code.challenge.method');
  if (codeFlow && pkce === 'plain') notes.add('clients Keycloak allowed PKCE plain: Latchkey accepts S256 only', name);

  // Scopes: every client scope it may ask for, so that no request it sends today is refused as invalid_scope.
  const clientScopes = [...new Set([...(client.strings('defaultClientScopes') ?? []), ...(client.strings('optionalClientScopes') ?? [])])];
  for (const scope of clientScopes.filter((s) => !isScopeToken(s))) notImported.add('client scopes whose names are not OAuth scope names', `${name}: ${shown(scope)}`);
  const signsIn = codeFlow || directGrant;
  const scope = [...new Set([...(signsIn ? ['openid'] : []), ...clientScopes.filter(isScopeToken)])].join(' ');

  // webOrigins as Keycloak reads them: `+` for the redirect URIs' origins, an empty list for none.
  const webOrigins: string[] = [];
  for (const origin of client.strings('webOrigins') ?? []) {
    const problem = webOriginProblem(origin);
    if (problem) attention.add('web origins not imported (a wildcard, or not an origin)', `${name}: ${shown(origin)}`);
    else if (!webOrigins.includes(origin)) webOrigins.push(origin);
  }

  const definition: Record<string, unknown> = {
    client_id: clientId,
    ...authentication,
    ...(redirects.exact.some((uri) => !/^https?:/i.test(uri)) ? { application_type: 'native' } : {}),
    grant_types: grants,
    response_types: codeFlow ? ['code'] : [],
    redirect_uris: codeFlow ? redirects.exact : [],
    post_logout_redirect_uris: codeFlow ? [...new Set(postLogout)] : [],
    ...(client.raw('webOrigins') === undefined ? {} : { web_origins: webOrigins }),
    ...(scope ? { scope } : {}),
    ...branding(client, attributes, name, notes),
    ...lifetimes(attributes, context.realmRefreshSeconds, grants),
  };
  const roles = context.serviceAccountRoles.get(clientId);
  if (grants.includes('client_credentials') && roles?.length) definition['roles'] = [...roles];

  reportLeftovers(client, attributes, name, notImported);
  return { definition, publicPasswordGrant: publicClient && directGrant, pkceNewlyRequired: codeFlow && pkce !== 'S256' && pkce !== 'plain' };
}

function sortUris(uris: readonly string[], base: string | undefined): { exact: string[]; inexact: string[] } {
  const exact: string[] = [];
  const inexact: string[] = [];
  for (const uri of uris) {
    const resolved = uri.startsWith('/') && base ? `${base}${uri}` : uri;
    if (resolved.includes('*') || !/^[a-z][a-z0-9+.-]*:/i.test(resolved)) inexact.push(uri);
    else if (!exact.includes(resolved)) exact.push(resolved);
  }
  return { exact, inexact };
}

function branding(client: KeycloakObject, attributes: KeycloakObject | undefined, name: string, notes: Findings): Record<string, unknown> {
  const branded: Record<string, unknown> = {};
  const displayName = client.string('name');
  // `${client_account}` and the like are message keys of Keycloak's themes, not names.
  if (displayName && !displayName.startsWith('${')) {
    if (brandingNameProblem(displayName)) notes.add('client names not used on the sign-in page (the branding rules refuse them)', name);
    else branded['client_name'] = displayName;
  }
  for (const [attribute, field] of [['logoUri', 'logo_uri'], ['policyUri', 'policy_uri'], ['tosUri', 'tos_uri']] as const) {
    const value = attributes?.string(attribute);
    if (!value) continue;
    if (httpsUrlProblem(value)) notes.add(`client ${attribute} values that are not https URLs (not used)`, name);
    else branded[field] = value;
  }
  return branded;
}

function lifetimes(attributes: KeycloakObject | undefined, realmRefresh: number | undefined, grants: readonly string[]): Record<string, unknown> {
  const seconds = (attribute: string) => {
    const value = attributes?.string(attribute);
    return value && /^\d{1,9}$/.test(value) && Number(value) > 0 ? Math.min(Number(value), MAX_LIFETIME_SECONDS) : undefined;
  };
  const ttl: Record<string, number> = {};
  const access = seconds('access.token.lifespan');
  if (access) Object.assign(ttl, { access_token: access, client_credentials: access, id_token: access });
  const idle = seconds('client.session.idle.timeout');
  const max = seconds('client.session.max.lifespan');
  if ((idle || max) && grants.includes('refresh_token')) {
    ttl['refresh_token'] = Math.min(...[idle, max, realmRefresh].filter((s): s is number => s !== undefined));
  }
  return Object.keys(ttl).length ? { ttl } : {};
}

/** Everything of the client that nothing above read, and that says something, is listed. */
function reportLeftovers(client: KeycloakObject, attributes: KeycloakObject | undefined, name: string, notImported: Findings): void {
  const topics: Readonly<Record<string, string>> = {
    protocolMappers: 'protocol mappers (claims Keycloak adds to tokens)',
    authorizationServicesEnabled: 'fine-grained authorization (Keycloak Authorization Services)',
    authorizationSettings: 'fine-grained authorization (Keycloak Authorization Services)',
    consentRequired: 'consentRequired (Latchkey asks for consent by its own rules)',
    authenticationFlowBindingOverrides: 'authentication flow overrides',
    adminUrl: 'admin URLs (Keycloak adapter callbacks)',
  };
  // fullScopeAllowed: true, Keycloak's default, restricts nothing.
  if (client.boolean('fullScopeAllowed') === false) notImported.add('role scope mappings (fullScopeAllowed: false: Latchkey puts all of a user\'s roles in tokens that ask for them)', name);
  for (const field of client.unread()) notImported.add(topics[field] ?? 'client settings', topics[field] ? name : `${name}.${field}`);
  for (const attribute of attributes?.unread() ?? []) {
    const value = attributes!.raw(attribute);
    if (attribute.startsWith('saml') || NOTHING_ATTRIBUTES.has(String(value)) || ATTRIBUTE_DEFAULTS[attribute] === value) continue;
    notImported.add('client attributes', `${name}: ${shown(attribute)}`);
  }
}
