import { readFile } from 'node:fs/promises';
import { Value, type ValueError } from '@sinclair/typebox/value';
import { parseDocument } from 'yaml';
import { ConfigError } from './config-error.ts';
import {
  SetupFileSchema,
  type ClientDeclaration as FileClient,
  type RealmBrandingDeclaration,
  type RealmFileEntry,
  type UserDeclaration,
} from './declarative-schema.ts';
import { substitutePlaceholders } from './placeholders.ts';
import { httpsUrlProblem, redirectUriProblem } from './uri-rules.ts';
import { brandingNameProblem, brandingUrlProblem } from './branding-rules.ts';
import type { TokenLifetimes } from '../oidc/token-lifetimes.ts';

export type { UserDeclaration } from './declarative-schema.ts';

/** A client after defaults are filled in: what the client service stores. */
export type ClientDeclaration = FileClient & {
  application_type: 'web' | 'native';
  token_endpoint_auth_method: NonNullable<FileClient['token_endpoint_auth_method']>;
  grant_types: NonNullable<FileClient['grant_types']>;
  response_types: NonNullable<FileClient['response_types']>;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
};

export interface RealmDeclaration {
  name: string;
  ttl?: Partial<TokenLifetimes> | undefined;
  branding?: RealmBrandingDeclaration | undefined;
  clients: ClientDeclaration[];
  users: UserDeclaration[];
}

export interface DeclarativeSetup {
  realms: RealmDeclaration[];
}

export interface SetupOptions {
  env: Readonly<Record<string, string | undefined>>;
  nodeEnv: string;
  /** http://localhost redirect URIs for web clients (development only). */
  allowInsecureLocalhost?: boolean;
}

const MAX_FILE_BYTES = 16 * 1024 * 1024;

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
  return parseDeclarativeSetup(parseText(text, file), { ...options, source: file });
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

/** Validates a parsed document against the schema and the rules the schema cannot express. */
export function parseDeclarativeSetup(document: unknown, { env, nodeEnv, allowInsecureLocalhost = nodeEnv !== 'production', source }: SetupOptions & { source?: string }): DeclarativeSetup {
  const substituted = substitutePlaceholders(document, env, source ?? '');
  const firstError = Value.Errors(SetupFileSchema, substituted).First();
  if (firstError) throw new ConfigError(fieldPath(firstError.path), describe(firstError), source);
  const file = substituted as { development_only?: boolean; realms: RealmFileEntry[] };

  if (file.development_only && nodeEnv === 'production') {
    throw new ConfigError('development_only', 'this file holds development-only demo clients and users and is refused when NODE_ENV=production; point LATCHKEY_CONFIG at your own file', source);
  }

  const realmNames = new Set<string>();
  const realms = file.realms.map((realm, r): RealmDeclaration => {
    const at = `realms[${r}]`;
    if (realmNames.has(realm.name)) throw new ConfigError(`${at}.name`, 'declared twice', source);
    realmNames.add(realm.name);

    const clientIds = new Set<string>();
    const clients = (realm.clients ?? []).map((client, c) => {
      const clientAt = `${at}.clients[${c}]`;
      if (clientIds.has(client.client_id)) throw new ConfigError(`${clientAt}.client_id`, 'declared twice in this realm', source);
      clientIds.add(client.client_id);
      return normalizeClient(client, clientAt, { allowInsecureLocalhost, source });
    });

    const usernames = new Set<string>();
    const users = (realm.users ?? []).map((user, u) => {
      const userAt = `${at}.users[${u}]`;
      if (hasControlOrSpace(user.username)) throw new ConfigError(`${userAt}.username`, 'must not contain spaces or control characters', source);
      const key = user.username.toLowerCase();
      if (usernames.has(key)) throw new ConfigError(`${userAt}.username`, 'declared twice in this realm', source);
      usernames.add(key);
      return user;
    });

    if (realm.branding) checkBranding(realm.branding as Record<string, unknown>, `${at}.branding`, source, 'app_name');
    return { name: realm.name, ...(realm.ttl ? { ttl: realm.ttl } : {}), ...(realm.branding ? { branding: realm.branding } : {}), clients, users };
  });
  return { realms };
}

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const SECRET_METHODS = new Set(['client_secret_basic', 'client_secret_post']);
const LINK_FIELDS = ['client_uri', 'jwks_uri'] as const;
const BRANDING_URL_FIELDS = ['logo_uri', 'background_uri', 'policy_uri', 'tos_uri'] as const;

/**
 * Branding is rendered into pages and a stylesheet: the same rules as the
 * renderer's (src/http/branding.ts), so a value that would not be shown is
 * refused here with the field named (SECURITY-CATALOG 82–84).
 */
function checkBranding(values: Record<string, unknown>, at: string, source: string | undefined, nameField: string): void {
  const fail = (field: string, problem: string): never => { throw new ConfigError(`${at}.${field}`, problem, source); };
  for (const field of BRANDING_URL_FIELDS) {
    const value = values[field];
    if (typeof value !== 'string') continue;
    const problem = brandingUrlProblem(value);
    if (problem) fail(field, problem);
  }
  const name = values[nameField];
  if (typeof name === 'string') {
    const problem = brandingNameProblem(name);
    if (problem) fail(nameField, problem);
  }
}

/**
 * Fills in the defaults a person would expect (a confidential code-flow web
 * client) and refuses combinations oidc-provider would refuse later, at a
 * worse time, or that make no sense (a public client with client
 * credentials).
 */
function normalizeClient(client: FileClient, at: string, { allowInsecureLocalhost, source }: { allowInsecureLocalhost: boolean; source: string | undefined }): ClientDeclaration {
  const fail = (field: string, problem: string): never => { throw new ConfigError(`${at}.${field}`, problem, source); };
  if (hasControlOrSpace(client.client_id)) fail('client_id', 'must not contain spaces or control characters');

  const applicationType = client.application_type ?? 'web';
  const grants = client.grant_types ?? ['authorization_code', 'refresh_token'];
  const codeFlow = grants.includes('authorization_code');
  const authMethod = client.token_endpoint_auth_method
    ?? (client.client_secret !== undefined ? 'client_secret_basic' : client.jwks_uri || client.jwks ? 'private_key_jwt' : 'none');
  const responseTypes = client.response_types ?? (codeFlow ? ['code'] : []);
  const redirectUris = client.redirect_uris ?? [];
  const postLogoutUris = client.post_logout_redirect_uris ?? [];

  if (grants.length === 0) fail('grant_types', 'at least one grant type is required');
  if (grants.includes('refresh_token') && !codeFlow) fail('grant_types', 'refresh_token needs authorization_code too');
  if (responseTypes.includes('code') !== codeFlow) fail('response_types', codeFlow ? 'must include code for the authorization_code grant' : 'must be [] without the authorization_code grant');

  if (SECRET_METHODS.has(authMethod) && client.client_secret === undefined) fail('client_secret', `required for token_endpoint_auth_method ${authMethod}`);
  if (!SECRET_METHODS.has(authMethod) && client.client_secret !== undefined) fail('client_secret', `not used with token_endpoint_auth_method ${authMethod}: remove it`);
  if (authMethod === 'none') {
    if (grants.includes('client_credentials')) fail('grant_types', 'a public client (token_endpoint_auth_method none) cannot use client_credentials');
    if (client.permissions?.length) fail('permissions', 'a public client (token_endpoint_auth_method none) cannot authenticate to use them');
  }
  if (authMethod === 'private_key_jwt' && !client.jwks_uri && !client.jwks) fail('jwks_uri', 'private_key_jwt needs jwks_uri or jwks');

  if (codeFlow && redirectUris.length === 0) fail('redirect_uris', 'at least one is required for the authorization_code grant');
  if (!codeFlow && redirectUris.length) fail('redirect_uris', 'only the authorization_code grant uses redirect URIs');
  if (!codeFlow && postLogoutUris.length) fail('post_logout_redirect_uris', 'only the authorization_code grant signs users in');
  redirectUris.forEach((uri, i) => {
    const problem = redirectUriProblem(uri, applicationType, { allowInsecureLocalhost });
    if (problem) fail(`redirect_uris[${i}]`, problem);
  });
  postLogoutUris.forEach((uri, i) => {
    const problem = redirectUriProblem(uri, applicationType, { allowInsecureLocalhost });
    if (problem) fail(`post_logout_redirect_uris[${i}]`, problem);
  });
  for (const field of LINK_FIELDS) {
    const value = client[field];
    if (value === undefined) continue;
    const problem = httpsUrlProblem(value);
    if (problem) fail(field, problem);
  }

  if (client.scope !== undefined) {
    const scopes = client.scope.split(' ').filter(Boolean);
    if (!scopes.length || !scopes.every((s) => SCOPE_TOKEN.test(s))) fail('scope', 'space-separated scope names of printable characters (no quotes or backslashes)');
  }
  checkBranding(client as Record<string, unknown>, at, source, 'client_name');
  // RFC 7591 metadata, which oidc-provider itself requires to be absolute web URLs.
  for (const field of ['logo_uri', 'policy_uri', 'tos_uri'] as const) {
    const value = client[field];
    if (value !== undefined && httpsUrlProblem(value)) fail(field, 'must be an https: URL');
  }

  return {
    ...client,
    application_type: applicationType,
    token_endpoint_auth_method: authMethod,
    grant_types: grants,
    response_types: responseTypes,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: postLogoutUris,
  };
}

/** `/realms/0/clients/1/redirect_uris/0` → `realms[0].clients[1].redirect_uris[0]` */
function fieldPath(pointer: string): string {
  if (!pointer) return '(document)';
  return pointer.split('/').slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

function describe(error: ValueError): string {
  const schema = error.schema as { anyOf?: { const?: unknown }[]; pattern?: string; const?: unknown };
  const literals = schema.anyOf?.map((s) => s.const).filter((v) => v !== undefined);
  if (literals?.length) return `must be one of ${literals.join(', ')}`;
  if (schema.const !== undefined) return `must be ${String(schema.const)}`;
  if (error.message === 'Unexpected property') return 'unknown property (check the spelling)';
  if (error.message === 'Expected required property') return 'is required';
  if (schema.pattern === '^[a-z0-9][a-z0-9-]{0,62}$') return 'lower-case letters, digits and dashes, at most 63';
  if (schema.pattern === '^#[0-9a-fA-F]{6}$') return 'a colour like #1a73e8';
  if (schema.pattern) return 'has the wrong format';
  return error.message.charAt(0).toLowerCase() + error.message.slice(1);
}

function hasControl(value: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x1f\x7f]/.test(value);
}

function hasControlOrSpace(value: string): boolean {
  return hasControl(value) || /\s/.test(value);
}
