import { readFile } from 'node:fs/promises';
import { Value } from '@sinclair/typebox/value';
import { parseDocument } from 'yaml';
import { ConfigError } from '../errors/index.ts';
import { brandingNameProblem, brandingUrlProblem } from './branding-rules.ts';
import { checkClient, type ClientDeclaration } from './client-rules.ts';
import { readKeptHash } from './kept-password-hashes.ts';
import { isKeycloakExport, keycloakJson, translateKeycloakExport, type KeycloakImportSummary } from './keycloak-realm.ts';
import { roleListProblem } from './role-rules.ts';
import { usernameProblem } from './username-rules.ts';
import {
  SetupFileSchema,
  type LayoutFileEntry,
  type RealmBrandingDeclaration,
  type RealmFileEntry,
  type UserDeclaration,
} from './declarative-schema.ts';
import { substitutePlaceholders } from './placeholders.ts';
import type { RegistrationDeclaration } from './registration-policy.ts';
import { describeSchemaError, fieldPath } from './schema-problems.ts';
import { checkResourceServer, type ResourceServerDeclaration } from './resource-server-rules.ts';
import type { TokenLifetimes } from '../oidc/token-lifetimes.ts';
import { realmLayout, type LayoutDeclaration } from '../oidc/realm-layouts.ts';

export type { UserDeclaration } from './declarative-schema.ts';
export type { ClientDeclaration } from './client-rules.ts';
export type { ResourceServerDeclaration } from './resource-server-rules.ts';

export interface RealmDeclaration {
  name: string;
  /** Where its endpoints live and what its tokens look like (src/oidc/realm-layouts.ts); standard when absent. */
  layout?: LayoutDeclaration | undefined;
  /** More layouts (issuers) for the same clients and users (src/oidc/realm-list.ts). */
  aliases?: LayoutDeclaration[] | undefined;
  ttl?: Partial<TokenLifetimes> | undefined;
  branding?: RealmBrandingDeclaration | undefined;
  /** Lets public clients that list it use the password grant (src/oidc/password-grant.ts). */
  allow_password_grant_for_public_clients?: boolean | undefined;
  /** Dynamic client registration (src/config/registration-policy.ts); off when absent. */
  registration?: RegistrationDeclaration | undefined;
  clients: ClientDeclaration[];
  users: UserDeclaration[];
  resource_servers: ResourceServerDeclaration[];
}

export interface DeclarativeSetup {
  realms: RealmDeclaration[];
  /** When the file was a Keycloak realm export: what was translated, skipped and not supported (keycloak-realm.ts). */
  keycloak?: KeycloakImportSummary | undefined;
}

export interface SetupOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** `production` refuses development-only files and the client rules' development conveniences. */
  nodeEnv: string;
  /** LATCHKEY_KEYCLOAK_PATH_PREFIX: where Keycloak-layout realms without their own prefix live (src/oidc/realm-layouts.ts). */
  keycloakPathPrefix?: string | undefined;
}

/** Room for a Keycloak export of some 50,000 users (kc.sh export writes about a kilobyte per user). */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

/** Reads, parses (YAML, of which JSON is a subset), substitutes and validates a setup file. */
export async function loadDeclarativeFile(file: string, options: SetupOptions): Promise<DeclarativeSetup> {
  let text: string;
  try {
    const buffer = await readFile(file);
    if (buffer.length > MAX_FILE_BYTES) throw new ConfigError('(file)', `larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB`, file);
    text = buffer.toString('utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError('(file)', code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (error as Error).message})`, file);
  }
  const document = keycloakJson(text) ?? parseText(text, file);
  if (isKeycloakExport(document)) {
    const translation = translateKeycloakExport(document, file);
    const setup = translation.judged(() => parseDeclarativeSetup(translation.document, { ...options, source: file }));
    return { ...setup, keycloak: translation.summary };
  }
  return parseDeclarativeSetup(document, { ...options, source: file });
}

function parseText(text: string, source: string): unknown {
  // `uniqueKeys` makes a key given twice an error rather than "last one wins".
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  const [error] = document.errors;
  if (error) {
    const line = error.linePos?.[0];
    // The message of the yaml package can quote the offending text; keep only its code.
    throw new ConfigError(line ? `line ${line.line}, column ${line.col}` : '(document)', `not valid YAML or JSON (${error.code})`, source);
  }
  return document.toJS({ maxAliasCount: 100 }) ?? {};
}

/**
 * Validates a parsed document: the schema, each client against the client
 * rules (client-rules.ts, the CLI's and the client service's too, in the same
 * context), then what neither can see alone (names declared twice).
 */
export function parseDeclarativeSetup(document: unknown, { env, nodeEnv, source, keycloakPathPrefix }: SetupOptions & { source?: string }): DeclarativeSetup {
  const production = nodeEnv === 'production';
  const substituted = substitutePlaceholders(document, env, source ?? '');
  const firstError = Value.Errors(SetupFileSchema, substituted).First();
  if (firstError) throw new ConfigError(fieldPath(firstError.path), describeSchemaError(firstError), source);
  const file = substituted as { development_only?: boolean; realms: RealmFileEntry[] };

  if (file.development_only && production) {
    throw new ConfigError('development_only', 'this file holds development-only demo clients and users and is refused when NODE_ENV=production; point LATCHKEY_CONFIG at your own file', source);
  }

  const realmNames = new Set<string>();
  const mountPaths = new Map<string, string>();
  const realms = file.realms.map((realm, r): RealmDeclaration => {
    const at = `realms[${r}]`;
    if (realmNames.has(realm.name)) throw new ConfigError(`${at}.name`, 'declared twice', source);
    realmNames.add(realm.name);
    const layout = layoutOf(realm.layout);
    const aliases = (realm.aliases ?? []).map(layoutOf);
    for (const [i, declared] of [layout, ...aliases].entries()) {
      const field = i === 0 ? `${at}.layout` : `${at}.aliases[${i - 1}]`;
      const mountPath = realmLayout(realm.name, declared, { keycloakPathPrefix }).mountPath;
      // One path, one issuer: a path that is another's, or a prefix of it, would hide part of it.
      for (const [other, otherName] of mountPaths) {
        if (other === mountPath || (other !== '/' && mountPath !== '/' && (other.startsWith(mountPath) || mountPath.startsWith(other)))) {
          throw new ConfigError(field, `its endpoints (${mountPath}) would overlap ${otherName}'s (${other})`, source);
        }
      }
      mountPaths.set(mountPath, i === 0 ? `realm ${realm.name}` : `realm ${realm.name}'s alias ${i - 1}`);
    }

    const identifiers = new Set<string>();
    const resourceServers = (realm.resource_servers ?? []).map((entry, i) => {
      const serverAt = `${at}.resource_servers[${i}]`;
      const check = checkResourceServer(entry);
      if (check.server === undefined) {
        const [{ field, message }] = check.problems;
        throw new ConfigError(`${serverAt}.${field}`, message, source);
      }
      if (identifiers.has(check.server.identifier)) throw new ConfigError(`${serverAt}.identifier`, 'declared twice in this realm', source);
      identifiers.add(check.server.identifier);
      return check.server;
    });

    const clientIds = new Set<string>();
    const clients = (realm.clients ?? []).map((entry, c) => {
      const clientAt = `${at}.clients[${c}]`;
      const check = checkClient(entry, { production, realm: realm.name });
      if (check.client === undefined) {
        const [{ field, message }] = check.problems;
        throw new ConfigError(field ? `${clientAt}.${field}` : clientAt, message, source);
      }
      const { client } = check;
      if (clientIds.has(client.client_id)) throw new ConfigError(`${clientAt}.client_id`, 'declared twice in this realm', source);
      clientIds.add(client.client_id);
      if (client.grant_types.includes('password') && client.token_endpoint_auth_method === 'none' && !realm.allow_password_grant_for_public_clients) {
        throw new ConfigError(`${clientAt}.grant_types`, 'a public client may use the password grant only where its realm sets allow_password_grant_for_public_clients', source);
      }
      const defaultResource = client['default_resource'];
      if (typeof defaultResource === 'string' && !identifiers.has(defaultResource)) {
        throw new ConfigError(`${clientAt}.default_resource`, 'names no resource server of this realm', source);
      }
      return client;
    });

    const usernames = new Set<string>();
    const users = (realm.users ?? []).map((user, u) => {
      const userAt = `${at}.users[${u}]`;
      const usernameRefusal = usernameProblem(user.username);
      if (usernameRefusal) throw new ConfigError(`${userAt}.username`, usernameRefusal, source);
      for (const list of ['roles', 'groups'] as const) {
        const problem = user[list] === undefined ? undefined : roleListProblem(user[list], `${userAt}.${list}`);
        if (problem) throw new ConfigError(problem.field, problem.message, source);
      }
      if (user.password !== undefined && user.password_hash !== undefined) throw new ConfigError(`${userAt}.password_hash`, 'give password or password_hash, not both', source);
      const kept = user.password_hash === undefined ? undefined : readKeptHash(user.password_hash);
      if (kept?.problem) throw new ConfigError(`${userAt}.password_hash`, kept.problem, source);
      const key = user.username.toLowerCase();
      if (usernames.has(key)) throw new ConfigError(`${userAt}.username`, 'declared twice in this realm', source);
      usernames.add(key);
      return user;
    });

    if (realm.branding) checkRealmBranding(realm.branding, `${at}.branding`, source);
    return {
      name: realm.name,
      ...(layout.type === 'standard' ? {} : { layout }),
      ...(aliases.length ? { aliases } : {}),
      ...(realm.ttl ? { ttl: realm.ttl } : {}),
      ...(realm.branding ? { branding: realm.branding } : {}),
      ...(realm.allow_password_grant_for_public_clients ? { allow_password_grant_for_public_clients: true } : {}),
      ...(realm.registration ? { registration: realm.registration } : {}),
      clients, users, resource_servers: resourceServers,
    };
  });
  return { realms };
}

function layoutOf(entry: LayoutFileEntry | undefined): LayoutDeclaration {
  if (entry === undefined) return { type: 'standard' };
  return typeof entry === 'string' ? { type: entry } : entry;
}

const BRANDING_URL_FIELDS = ['logo_uri', 'background_uri', 'policy_uri', 'tos_uri'] as const;

/**
 * A realm's default branding is rendered into pages and a stylesheet: the
 * same rules as the renderer's (src/http/branding.ts), so a value that would
 * not be shown is refused here with the field named (SECURITY-CATALOG
 * 82–84). Clients' branding is checked by the client rules.
 */
function checkRealmBranding(branding: RealmBrandingDeclaration, at: string, source: string | undefined): void {
  const fail = (field: string, problem: string): never => { throw new ConfigError(`${at}.${field}`, problem, source); };
  for (const field of BRANDING_URL_FIELDS) {
    const value = branding[field];
    if (value === undefined) continue;
    const problem = brandingUrlProblem(value);
    if (problem) fail(field, problem);
  }
  if (branding.app_name !== undefined) {
    const problem = brandingNameProblem(branding.app_name);
    if (problem) fail('app_name', problem);
  }
}
