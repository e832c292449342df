/**
 * A Keycloak realm's settings and features beyond clients, users, roles and
 * groups: each one Latchkey has no equivalent of is listed by name in the
 * import summary (never dropped without a word). Settings still at the
 * value Keycloak writes by default, and Keycloak's own bookkeeping, are
 * not worth a line.
 */
import { Findings, meaningful, shown, type KeycloakObject } from './keycloak-fields.ts';

/** What Keycloak writes for a realm nobody changed, where that is not false, 0 or empty. */
const SETTING_DEFAULTS: Readonly<Record<string, unknown>> = {
  enabled: true,
  sslRequired: 'external',
  loginWithEmailAllowed: true, // Latchkey also takes the e-mail address as the login name
  accessTokenLifespanForImplicitFlow: 900,
  offlineSessionIdleTimeout: 2_592_000,
  offlineSessionMaxLifespan: 5_184_000,
  accessCodeLifespanUserAction: 300,
  actionTokenGeneratedByAdminLifespan: 43_200,
  actionTokenGeneratedByUserLifespan: 300,
  oauth2DeviceCodeLifespan: 600,
  oauth2DevicePollingInterval: 5,
  maxFailureWaitSeconds: 900,
  minimumQuickLoginWaitSeconds: 60,
  waitIncrementSeconds: 60,
  quickLoginCheckMilliSeconds: 1000,
  maxDeltaTimeSeconds: 43_200,
  failureFactor: 30,
  bruteForceStrategy: 'MULTIPLE',
  defaultSignatureAlgorithm: 'RS256',
  browserFlow: 'browser',
  registrationFlow: 'registration',
  directGrantFlow: 'direct grant',
  resetCredentialsFlow: 'reset credentials',
  clientAuthenticationFlow: 'clients',
  dockerAuthenticationFlow: 'docker auth',
  firstBrokerLoginFlow: 'first broker login',
  eventsListeners: ['jboss-logging'],
};

/**
 * Keycloak's bookkeeping, policies of factors Latchkey does not offer
 * (their credentials are listed per user), and settings that only shape
 * what Keycloak does for *new* clients and users.
 */
const BOOKKEEPING = [
  'id', 'keycloakVersion', 'notBefore', 'attributes', 'browserSecurityHeaders', 'requiredCredentials',
  'defaultDefaultClientScopes', 'defaultOptionalClientScopes', 'authenticatorConfig', 'clientPolicies', 'clientProfiles',
  'otpSupportedApplications', 'otpPolicyType', 'otpPolicyAlgorithm', 'otpPolicyInitialCounter', 'otpPolicyDigits',
  'otpPolicyLookAheadWindow', 'otpPolicyPeriod', 'otpPolicyCodeReusable',
];
const BOOKKEEPING_PREFIXES = ['webAuthnPolicy'];

/** Keycloak's own client scopes: their mappers are Keycloak's way of filling tokens. */
const BUILT_IN_SCOPES = new Set([
  'acr', 'address', 'basic', 'email', 'microprofile-jwt', 'offline_access', 'organization', 'phone', 'profile',
  'role_list', 'roles', 'saml_organization', 'service_account', 'web-origins',
]);

/** Keycloak's topics, as the summary names them. */
const TOPICS: Readonly<Record<string, string>> = {
  identityProviders: 'identity providers (sign-in with another IdP)',
  identityProviderMappers: 'identity provider mappers',
  protocolMappers: 'realm protocol mappers',
  userFederationProviders: 'user federation (LDAP, Kerberos)',
  userFederationMappers: 'user federation mappers',
  federatedUsers: 'users of a user federation provider',
  defaultGroups: 'default groups (given to new users)',
  organizations: 'organizations',
  smtpServer: 'e-mail (SMTP) settings',
  passwordPolicy: 'password policy (Latchkey takes passwords of 1 to 1024 characters)',
  internationalizationEnabled: 'languages of the pages',
  supportedLocales: 'languages of the pages',
  defaultLocale: 'languages of the pages',
  loginTheme: 'themes (Latchkey\'s pages take branding per realm and client)',
  accountTheme: 'themes (Latchkey\'s pages take branding per realm and client)',
  adminTheme: 'themes (Latchkey\'s pages take branding per realm and client)',
  emailTheme: 'themes (Latchkey\'s pages take branding per realm and client)',
  displayNameHtml: 'themes (Latchkey\'s pages take branding per realm and client)',
  eventsEnabled: 'event settings (Latchkey logs its own events)',
  eventsListeners: 'event settings (Latchkey logs its own events)',
  enabledEventTypes: 'event settings (Latchkey logs its own events)',
  adminEventsEnabled: 'event settings (Latchkey logs its own events)',
  adminEventsDetailsEnabled: 'event settings (Latchkey logs its own events)',
  eventsExpiration: 'event settings (Latchkey logs its own events)',
  bruteForceProtected: 'brute-force settings (Latchkey brakes sign-ins by its own rules)',
  permanentLockout: 'brute-force settings (Latchkey brakes sign-ins by its own rules)',
  registrationAllowed: 'self-registration',
  resetPasswordAllowed: 'password reset by e-mail',
  verifyEmail: 'e-mail verification',
  rememberMe: '"remember me" on the sign-in page',
  applications: 'clients in Keycloak 1.x form (applications, oauthClients)',
  oauthClients: 'clients in Keycloak 1.x form (applications, oauthClients)',
};

/** Lists what the translation did not read, after looking at the structured features. */
export function reportRealmSettings(realm: KeycloakObject, findings: { skipped: Findings; notImported: Findings; notes: Findings }): void {
  const { notImported, notes } = findings;
  realm.ignore(...BOOKKEEPING, ...realm.keys().filter((key) => BOOKKEEPING_PREFIXES.some((prefix) => key.startsWith(prefix))));
  const frontendUrl = realm.object('attributes')?.string('frontendUrl');
  if (frontendUrl) notImported.add('the realm\'s frontendUrl (Latchkey\'s public URL is LATCHKEY_ISSUER)');

  for (const flow of realm.objects('authenticationFlows')) {
    if (flow.boolean('builtIn') !== true) notImported.add('authentication flows', shown(flow.string('alias') ?? '?'));
    flow.ignore(...flow.keys());
  }
  for (const action of realm.objects('requiredActions')) {
    if (action.boolean('enabled') !== false && action.boolean('defaultAction') === true) notImported.add('required actions given to every new user', shown(action.string('alias') ?? '?'));
    action.ignore(...action.keys());
  }
  for (const scope of realm.objects('clientScopes')) {
    const name = scope.string('name') ?? '?';
    if (!BUILT_IN_SCOPES.has(name) && scope.objects('protocolMappers').length) {
      notImported.add('client scope definitions (only the names are used: scopes clients may ask for; their protocol mappers are not)', shown(name));
    }
    scope.ignore(...scope.keys());
  }
  for (const mapping of realm.objects('scopeMappings')) {
    const scope = mapping.string('clientScope') ?? mapping.string('client') ?? '?';
    if (scope !== 'offline_access') notImported.add('scope mappings (roles restricted per scope)', shown(scope));
    mapping.ignore(...mapping.keys());
  }
  const clientScopeMappings = realm.object('clientScopeMappings');
  for (const clientId of clientScopeMappings?.keys() ?? []) {
    if (clientId !== 'account' && clientId !== 'realm-management' && clientId !== 'broker') notImported.add('scope mappings (roles restricted per scope)', shown(clientId));
  }
  clientScopeMappings?.ignore(...clientScopeMappings.keys());

  const components = realm.object('components');
  for (const type of components?.keys() ?? []) {
    const entries = components!.objects(type);
    if (type.endsWith('.KeyProvider')) {
      notes.add('Keycloak\'s signing keys are not imported: Latchkey signs with its own, so tokens Keycloak issued do not verify against Latchkey (users sign in again)');
    } else if (type.endsWith('.UserStorageProvider')) {
      for (const entry of entries) notImported.add('user federation (LDAP, Kerberos)', shown(entry.string('name') ?? entry.string('providerId') ?? '?'));
    } else if (!type.endsWith('.ClientRegistrationPolicy')) {
      // Client registration policies are Keycloak's defaults for its registration endpoint.
      notImported.add('components', shown(type.split('.').pop() ?? type));
    }
    for (const entry of entries) entry.ignore(...entry.keys());
  }

  for (const field of realm.unread()) {
    const value = realm.raw(field);
    if (Object.hasOwn(SETTING_DEFAULTS, field) && JSON.stringify(SETTING_DEFAULTS[field]) === JSON.stringify(value)) continue;
    if (!meaningful(value)) continue;
    if (TOPICS[field]) {
      const named = Array.isArray(value) && field === 'identityProviders'
        ? value.map((provider: { alias?: unknown }) => shown(String(provider?.alias ?? '?')))
        : [];
      if (named.length) for (const alias of named) notImported.add(TOPICS[field]!, alias);
      else notImported.add(TOPICS[field]!);
    } else {
      notImported.add('realm settings', shown(field));
    }
  }
}
