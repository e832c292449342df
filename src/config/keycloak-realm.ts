/**
 * Keycloak's realm representation (org.keycloak.representations.idm.
 * RealmRepresentation) as Latchkey's declarative setup. `kc.sh export`
 * writes one realm object per file (or, for several realms in one file, a
 * list of them; with --users different_files, users files holding only
 * `realm` and `users`); the admin console's partial export writes one realm
 * object with its secrets masked. Any of them can be given to `latchkey
 * import` or named by LATCHKEY_CONFIG, and is told apart from Latchkey's
 * own format by its shape: a top-level `realm` name (and no `realms` list),
 * or a top-level list.
 *
 *   export ─▶ realm name, lifetimes, branding (here)
 *          ─▶ roles and groups (keycloak-roles.ts) ─▶ users (keycloak-users.ts)
 *          ─▶ clients (keycloak-clients.ts) ─▶ everything else listed (keycloak-realm-settings.ts)
 *          ─▶ a setup document, judged by the setup file's own rules (declarative-setup.ts)
 *
 * The export is data Keycloak wrote: `${…}` in it is not substituted
 * (Keycloak's own exports use it for message keys such as `${client_account}`).
 */
import { ConfigError } from '../errors/index.ts';
import { brandingNameProblem } from './branding-rules.ts';
import { MAX_CODE_LIFETIME_SECONDS, MAX_LIFETIME_SECONDS } from './client-field-rules.ts';
import { isBuiltInClient, translateClient, type TranslatedClient } from './keycloak-clients.ts';
import { Findings, isPlainObject, KeycloakObject, shown } from './keycloak-fields.ts';
import { reportRealmSettings } from './keycloak-realm-settings.ts';
import { KeycloakRoles } from './keycloak-roles.ts';
import type { KeycloakImportSummary, KeycloakRealmSummary } from './keycloak-summary.ts';
import { translateUsers } from './keycloak-users.ts';

export type { KeycloakImportSummary } from './keycloak-summary.ts';

/** A Keycloak export: a realm object (a `realm` name, no `realms` list), or a list of them. */
export function isKeycloakExport(document: unknown): boolean {
  if (Array.isArray(document)) return true;
  return isPlainObject(document) && Object.hasOwn(document, 'realm') && !Object.hasOwn(document, 'realms');
}

/**
 * The file's document when it is a Keycloak export written as JSON, as
 * Keycloak writes them; undefined otherwise (then it is read as YAML, of
 * which JSON is a subset). JSON.parse reads a 10,000-user export in a tenth
 * of a second where the YAML parser takes seconds.
 */
export function keycloakJson(text: string): unknown {
  if (!/^\s*[[{]/.test(text)) return undefined;
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return undefined; // the YAML parser says where it is wrong
  }
  return isKeycloakExport(document) ? document : undefined;
}

export interface KeycloakTranslation {
  /** A setup document in Latchkey's format, for the setup rules to judge. */
  document: { realms: Record<string, unknown>[] };
  summary: KeycloakImportSummary;
  /** Runs the setup rules; a problem they find is told in the export's terms (which client or user, where). */
  judged<T>(judge: () => T): T;
}

const REALM_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const INTERACTION_SECONDS = { min: 30, max: 24 * 3600 };

export function translateKeycloakExport(document: unknown, source: string): KeycloakTranslation {
  const list = Array.isArray(document);
  if (list && document.length === 0) throw new ConfigError('(document)', 'an empty list: no Keycloak realm to import', source);
  const realms = (list ? document : [document]).map((realm, i) => KeycloakObject.of(realm, list ? `[${i}]` : '', source));
  const translated = realms.map(translateRealm);
  const byName = new Map<string, string>();
  for (const { summary } of translated) {
    const earlier = byName.get(summary.realm);
    if (earlier !== undefined) {
      throw new ConfigError('realm', `Keycloak realms "${shown(earlier)}" and "${shown(summary.keycloak)}" would both become Latchkey realm ${summary.realm}`, source);
    }
    byName.set(summary.realm, summary.keycloak);
  }
  return {
    document: { realms: translated.map((realm) => escapePlaceholders(realm.entry) as Record<string, unknown>) },
    summary: { realms: translated.map((realm) => realm.summary) },
    judged(judge) {
      try {
        return judge();
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        throw located(error, translated, source);
      }
    },
  };
}

interface TranslatedRealm {
  entry: Record<string, unknown>;
  summary: KeycloakRealmSummary;
  /** Where each translated client and user came from, by their index in `entry`. */
  origins: { clients: { at: string; name: string }[]; users: { at: string; name: string }[] };
}

function translateRealm(realm: KeycloakObject): TranslatedRealm {
  const keycloakName = realm.string('realm') ?? realm.fail('realm', 'is required: the realm\'s name');
  const name = latchkeyRealmName(keycloakName, realm);
  const skipped = new Findings();
  const attention = new Findings();
  const notImported = new Findings();
  const notes = new Findings();

  // Latchkey has no disabled realms: one declared is served.
  if (realm.boolean('enabled') === false) attention.add('the realm is disabled in Keycloak, and Latchkey serves every realm it is given: leave it out of LATCHKEY_CONFIG until it should be served');

  const lifetimes: string[] = [];
  const ttl = realmLifetimes(realm, lifetimes, notes);
  const displayName = realm.string('displayName');
  const appName = displayName && !displayName.includes('${') && !brandingNameProblem(displayName) ? displayName : undefined;

  const roles = new KeycloakRoles(realm, keycloakName, (clientId) => isBuiltInClient(clientId, keycloakName), notImported, skipped);
  const users = translateUsers(realm, { roles, skipped, attention, notImported });
  const clients: { client: TranslatedClient; at: string }[] = [];
  for (const client of realm.objects('clients')) {
    const translated = translateClient(client, {
      keycloakRealm: keycloakName, realmRefreshSeconds: ttl.refresh_token, serviceAccountRoles: users.serviceAccountRoles,
      skipped, attention, notImported, notes,
    });
    if (translated) clients.push({ client: translated, at: client.at });
  }

  if (realm.boolean('revokeRefreshToken') !== true && clients.some(({ client }) => (client.definition['grant_types'] as string[]).includes('refresh_token'))) {
    notes.add('refresh tokens rotate at every use and a reused one revokes the grant; Keycloak did that only with revokeRefreshToken');
  }
  const pkce = clients.filter(({ client }) => client.pkceNewlyRequired).map(({ client }) => shown(String(client.definition['client_id'])));
  for (const clientId of pkce) notes.add('clients that must now send PKCE (S256) with the code flow; Keycloak did not require it of them', clientId);
  const publicPasswordGrant = clients.some(({ client }) => client.publicPasswordGrant);
  if (publicPasswordGrant) notes.add('public clients use the password grant, so allow_password_grant_for_public_clients is on for this realm');
  reportRealmSettings(realm, { skipped, notImported, notes });

  return {
    entry: latchkeyRealm({
      name,
      ttl,
      appName,
      publicPasswordGrant,
      clients: clients.map(({ client }) => client.definition),
      users: users.users.map((user) => user.declaration),
    }),
    summary: {
      keycloak: shown(keycloakName),
      realm: name,
      lifetimes,
      clients: clients.map(({ client }) => shown(String(client.definition['client_id']))),
      users: {
        total: users.users.length, keptHashes: users.keptHashes, plainPasswords: users.plainPasswords,
        withoutPassword: users.withoutPassword, disabled: users.disabled,
      },
      roles: { realm: roles.realmRoleCount, client: roles.clientRoleCount, groups: roles.groupCount },
      skipped: skipped.lines(),
      attention: attention.lines(),
      notImported: notImported.lines(),
      notes: notes.lines(),
    },
    origins: {
      clients: clients.map(({ client, at }) => ({ at, name: `client "${shown(String(client.definition['client_id']))}"` })),
      users: users.users.map(({ at, username }) => ({ at, name: `user "${shown(username)}"` })),
    },
  };
}

/**
 * The Latchkey realm a Keycloak realm becomes: the one place that shapes
 * it, so that a setting every imported realm should have (its URL layout,
 * say) is added here and nowhere else.
 */
function latchkeyRealm({ name, ttl, appName, publicPasswordGrant, clients, users }: {
  name: string;
  ttl: Record<string, number>;
  appName: string | undefined;
  publicPasswordGrant: boolean;
  clients: Record<string, unknown>[];
  users: Record<string, unknown>[];
}): Record<string, unknown> {
  return {
    name,
    // Keycloak's paths, issuer and token shapes (src/oidc/realm-layouts.ts), so its applications work unchanged.
    layout: 'keycloak',
    ...(Object.keys(ttl).length ? { ttl } : {}),
    ...(appName ? { branding: { app_name: appName } } : {}),
    ...(publicPasswordGrant ? { allow_password_grant_for_public_clients: true } : {}),
    clients,
    users,
  };
}

/**
 * Latchkey's realm names are lower-case letters, digits and dashes (they are
 * path segments and issuer parts). A Keycloak name that differs only by
 * upper case maps to its lower-case form; any other change (dropping an
 * underscore, a dot, a space) could make two realms one, so it is refused
 * and the export must be renamed.
 */
function latchkeyRealmName(keycloakName: string, realm: KeycloakObject): string {
  const lowered = keycloakName.toLowerCase();
  if (REALM_NAME.test(lowered)) return lowered;
  return realm.fail('realm', `"${shown(keycloakName)}" cannot be a Latchkey realm name (lower-case letters, digits and dashes, at most 63, and only upper case is changed on import): rename the realm in the export`);
}

/**
 * Keycloak's lifespans as Latchkey's lifetimes, in seconds:
 *
 * - access_token, client_credentials, id_token ← accessTokenLifespan (Keycloak's
 *   ID tokens and service-account tokens expire with the access token);
 * - refresh_token ← the smallest of ssoSessionIdleTimeout, ssoSessionMaxLifespan
 *   and, when set (> 0), clientSessionIdleTimeout and clientSessionMaxLifespan:
 *   what Keycloak gives a fresh refresh token (TokenManager's refresh
 *   expiration: the session's idle timeout, capped by its maximum);
 * - session ← ssoSessionMaxLifespan (the browser's single sign-on);
 * - grant ← ssoSessionMaxLifespan, or clientSessionMaxLifespan if smaller: how
 *   long a chain of refreshes may last, as the SSO session bounds it in Keycloak;
 * - authorization_code ← accessCodeLifespan (at most 600 s here: RFC 6749 §4.1.2);
 * - interaction ← accessCodeLifespanLogin (the time to complete a sign-in).
 *
 * Offline sessions, remember-me and user-action lifespans have no
 * counterpart; values out of Latchkey's bounds are clamped, with a note.
 */
function realmLifetimes(realm: KeycloakObject, described: string[], notes: Findings): Record<string, number> {
  const seconds = (field: string) => {
    const value = realm.integer(field);
    return value !== undefined && value > 0 ? value : undefined;
  };
  const ttl: Record<string, number> = {};
  const set = (kinds: string[], value: number | undefined, from: string, bounds = { min: 1, max: MAX_LIFETIME_SECONDS }) => {
    if (value === undefined) return;
    const clamped = Math.min(Math.max(value, bounds.min), bounds.max);
    if (clamped !== value) notes.add(`lifetimes outside Latchkey's bounds, clamped`, `${kinds.join(', ')} ${value} s → ${clamped} s`);
    for (const kind of kinds) ttl[kind] = clamped;
    described.push(`${kinds.join(', ')} ${clamped} s (${from})`);
  };
  set(['access_token', 'client_credentials', 'id_token'], seconds('accessTokenLifespan'), 'accessTokenLifespan');
  const refreshFrom = ['ssoSessionIdleTimeout', 'ssoSessionMaxLifespan', 'clientSessionIdleTimeout', 'clientSessionMaxLifespan']
    .map((field) => [field, seconds(field)] as const)
    .filter((entry): entry is readonly [string, number] => entry[1] !== undefined);
  if (refreshFrom.length) {
    const smallest = Math.min(...refreshFrom.map(([, value]) => value));
    set(['refresh_token'], smallest, `the smallest of ${refreshFrom.map(([field]) => field).join(', ')}`);
  }
  const ssoMax = seconds('ssoSessionMaxLifespan');
  const clientMax = seconds('clientSessionMaxLifespan');
  set(['session'], ssoMax, 'ssoSessionMaxLifespan');
  const grant = [ssoMax, clientMax].filter((s): s is number => s !== undefined);
  set(['grant'], grant.length ? Math.min(...grant) : undefined, clientMax !== undefined && (ssoMax === undefined || clientMax < ssoMax) ? 'clientSessionMaxLifespan' : 'ssoSessionMaxLifespan');
  set(['authorization_code'], seconds('accessCodeLifespan'), 'accessCodeLifespan', { min: 1, max: MAX_CODE_LIFETIME_SECONDS });
  set(['interaction'], seconds('accessCodeLifespanLogin'), 'accessCodeLifespanLogin', INTERACTION_SECONDS);
  return ttl;
}

/** The document is data: `${` stays literal through the setup file's placeholder substitution (placeholders.ts). */
function escapePlaceholders(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('${', () => '$${');
  if (Array.isArray(value)) return value.map(escapePlaceholders);
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, escapePlaceholders(item)]));
  return value;
}

/** A problem the setup rules found in the translated document, named as the export names it. */
function located(error: ConfigError, realms: readonly TranslatedRealm[], source: string): ConfigError {
  const problem = error.message.slice(error.message.indexOf(`${error.field}: `) + error.field.length + 2);
  const match = /^realms\[(\d+)\](?:\.(clients|users)\[(\d+)\])?(?:\.(.*))?$/.exec(error.field);
  const realm = match ? realms[Number(match[1])] : undefined;
  if (!match || !realm) return error;
  const [, , kind, index, rest] = match;
  const origin = kind ? realm.origins[kind as 'clients' | 'users'][Number(index)] : undefined;
  if (origin) return new ConfigError(origin.at, `${origin.name}: ${rest ? `${rest} (as translated): ` : ''}${problem}`, source);
  return new ConfigError(`realm "${realm.summary.keycloak}"`, `${rest ?? 'realm'} (as translated): ${problem}`, source);
}
