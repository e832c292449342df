import { clientView } from '../../clients/client-view.ts';
import { AUTH_METHODS, CLIENT_FLAG_OPTIONS, clientFromFlags, GRANT_TYPES } from '../client-flags.ts';
import { loadCommandContext, withServices } from '../command-context.ts';
import { CliError, ClientExistsError, UsageError } from '../../errors/index.ts';
import { dispatch, parseCommandLine, requirePositional, write, type CliIo } from '../command-line.ts';

const ADD_USAGE = `Usage: latchkey clients add ID [options]

Registers a client. A confidential client gets a generated secret (256 bits),
printed once: it is stored only as a digest and cannot be shown again.

  --realm R                      realm (default: default)
  --name NAME                    display name, shown on the login page
  --logo-uri URL                 logo on the sign-in pages (https:)
  --background-uri URL           background image of the sign-in pages (https: or /path)
  --primary-color '#RRGGBB'      buttons and focus rings
  --policy-uri URL, --tos-uri URL  privacy policy and terms links (https:)
  --redirect-uri URI             repeatable; required for authorization_code
  --post-logout-redirect-uri URI repeatable
  --grant GRANT                  repeatable: ${GRANT_TYPES.join(', ')}
                                 (default: authorization_code + refresh_token)
  --auth-method METHOD           ${AUTH_METHODS.join(', ')}
                                 (default: client_secret_basic; none with --native;
                                 private_key_jwt with --jwks-uri)
  --jwks-uri URI                 the client's public keys, for private_key_jwt
  --scope "a b"                  the scopes the client may obtain
  --permission P                 repeatable: introspection (may introspect any token
                                 of the realm) or admin (its client credentials tokens
                                 with admin:read, admin:write or admin:metrics are good
                                 at the admin API; default realm only)
  --role R                       repeatable: the client's own roles, in its client
                                 credentials tokens when it asks for the roles scope
  --default-resource URI         the resource server its tokens are for when it names none
  --native                       a native app (RFC 8252: loopback redirects on any port)

The client is checked with the setup file's rules (README "Declaring realms,
clients and users"), production refusals included (NODE_ENV=production). An
error names the RFC 7591 field, as in the file: --name sets client_name,
--auth-method token_endpoint_auth_method, --native application_type, --grant
grant_types, --redirect-uri redirect_uris[i], --permission permissions[i], --role roles[i],
the other flags the field of the same name (--logo-uri: logo_uri).

Examples:
  npx latchkey clients add billing --grant client_credentials --scope "api:read"
  npx latchkey clients add orders-web --name Orders --redirect-uri https://orders.example.com/callback --scope "openid profile email"`;

const LIST_USAGE = `Usage: latchkey clients list [--realm R] [--json]

Lists the clients of a realm. Secrets are never shown, nor their hashes; only
how the secret is stored (hmac-sha256 for generated secrets, argon2id for
chosen ones).

  --realm R   realm (default: default)
  --json      machine-readable output`;

const REMOVE_USAGE = `Usage: latchkey clients remove ID [--realm R]

Removes a client and revokes every token and grant issued to it.

  --realm R   realm (default: default)`;

const DISABLE_USAGE = `Usage: latchkey clients disable|enable ID [--realm R]

disable: the client can no longer sign users in or obtain, introspect or
revoke tokens, and every token and grant issued to it is revoked. A running
server on the same database notices within 5 seconds.
enable: the client works again (nothing revoked comes back).

  --realm R   realm (default: default)`;

const ROTATE_USAGE = `Usage: latchkey clients rotate-secret ID [--overlap SECONDS] [--realm R]

Gives the client a new generated secret (256 bits), printed once, and keeps
accepting the old one for the overlap (default ${86_400} s, a day; 0 ends it
at once), so that its deployments can switch without an outage. Tokens stay.

  --overlap SECONDS   how long the old secret is still accepted (0 to ${30 * 86_400})
  --realm R           realm (default: default)`;

export const CLIENTS_USAGE = `Usage: latchkey clients add|list|remove|disable|enable|rotate-secret …

  add ID [options]      register a client (prints a generated secret once)
  list [--json]         list the clients
  remove ID             remove a client and revoke its tokens
  disable ID            disable a client and revoke its tokens
  enable ID             enable a disabled client
  rotate-secret ID      a new generated secret, the old one kept for an overlap

Every subcommand takes --realm R (default: default).
Run \`latchkey clients <subcommand> --help\` for details.`;

async function add(args: string[], io: CliIo): Promise<number> {
  const command = 'latchkey clients add';
  const parsed = parseCommandLine(args, CLIENT_FLAG_OPTIONS, { command, positionals: ['ID'] });
  const clientId = requirePositional(parsed, 0, 'ID', command);
  const { realm = 'default', ...flags } = parsed.values;
  const context = await loadCommandContext(io);
  // Judged before the database is opened, with the server's own context: a refusal is a usage error (2).
  const client = clientFromFlags(clientId, flags, { production: context.config.nodeEnv === 'production', realm });

  const { secret } = await withServices(context, command, async (services) => {
    try {
      return await services.clients.create(realm, client);
    } catch (error) {
      if (error instanceof ClientExistsError) throw new CliError(`${error.message}; remove it first or choose another ID`);
      throw error;
    }
  });

  write(io.stdout, `Created client ${clientId} in realm ${realm} (${client.token_endpoint_auth_method}; grants ${client.grant_types.join(', ')}).`);
  if (secret) {
    write(io.stdout, `client_secret: ${secret}`);
    write(io.stderr, 'Store this secret now: it is shown only this once and cannot be shown again (Latchkey keeps only a digest).');
  }
  return 0;
}

async function list(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandLine(args, { realm: { type: 'string' }, json: { type: 'boolean' } }, { command: 'latchkey clients list', positionals: [] });
  const realm = parsed.values.realm ?? 'default';
  const context = await loadCommandContext(io);
  const clients = (await withServices(context, 'latchkey clients list', (services) => services.clients.list(realm))).map(clientView);
  if (parsed.values.json) {
    write(io.stdout, JSON.stringify(clients, null, 2));
    return 0;
  }
  if (clients.length === 0) {
    write(io.stdout, `No clients in realm ${realm}.`);
    return 0;
  }
  const rows = clients.map((c) => [
    c.client_id,
    String(c['token_endpoint_auth_method'] ?? 'client_secret_basic'),
    ((c['grant_types'] as string[] | undefined) ?? ['authorization_code']).join(','),
    c.secret_storage ?? '-',
  ]);
  const header = ['CLIENT_ID', 'AUTH_METHOD', 'GRANTS', 'SECRET'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) write(io.stdout, row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  return 0;
}

async function remove(args: string[], io: CliIo): Promise<number> {
  const command = 'latchkey clients remove';
  const parsed = parseCommandLine(args, { realm: { type: 'string' } }, { command, positionals: ['ID'] });
  const clientId = requirePositional(parsed, 0, 'ID', command);
  const realm = parsed.values.realm ?? 'default';
  const context = await loadCommandContext(io);
  const removed = await withServices(context, command, (services) => services.clients.remove(realm, clientId));
  if (!removed) throw new CliError(`no client ${clientId} in realm ${realm}`);
  write(io.stdout, `Removed client ${clientId} from realm ${realm}; its tokens and grants are revoked.`);
  return 0;
}

function setDisabled(disabled: boolean) {
  return async function run(args: string[], io: CliIo): Promise<number> {
    const command = `latchkey clients ${disabled ? 'disable' : 'enable'}`;
    const parsed = parseCommandLine(args, { realm: { type: 'string' } }, { command, positionals: ['ID'] });
    const clientId = requirePositional(parsed, 0, 'ID', command);
    const realm = parsed.values.realm ?? 'default';
    const context = await loadCommandContext(io);
    await withServices(context, command, (services) => services.clients.setDisabled(realm, clientId, disabled));
    write(io.stdout, disabled
      ? `Disabled client ${clientId} in realm ${realm}; its tokens and grants are revoked.`
      : `Enabled client ${clientId} in realm ${realm}.`);
    return 0;
  };
}

async function rotateSecret(args: string[], io: CliIo): Promise<number> {
  const command = 'latchkey clients rotate-secret';
  const parsed = parseCommandLine(args, { realm: { type: 'string' }, overlap: { type: 'string' } }, { command, positionals: ['ID'] });
  const clientId = requirePositional(parsed, 0, 'ID', command);
  const realm = parsed.values.realm ?? 'default';
  const overlapText = parsed.values.overlap ?? '86400';
  const overlap = /^\d{1,7}$/.test(overlapText) ? Number(overlapText) : Number.NaN;
  if (!(overlap >= 0 && overlap <= 30 * 86_400)) throw new UsageError(`--overlap: seconds from 0 to ${30 * 86_400} (see ${command} --help)`);
  const context = await loadCommandContext(io);
  const { secret } = await withServices(context, command, (services) => services.clients.rotateSecret(realm, clientId, overlap));
  write(io.stdout, `Rotated the secret of client ${clientId} in realm ${realm}; the old one is accepted for ${overlap} more seconds.`);
  write(io.stdout, `client_secret: ${secret}`);
  write(io.stderr, 'Store this secret now: it is shown only this once and cannot be shown again (Latchkey keeps only a digest).');
  return 0;
}

export function clients(args: string[], io: CliIo): Promise<number> {
  return dispatch('clients', CLIENTS_USAGE, {
    add: { run: add, usage: ADD_USAGE },
    list: { run: list, usage: LIST_USAGE },
    remove: { run: remove, usage: REMOVE_USAGE },
    disable: { run: setDisabled(true), usage: DISABLE_USAGE },
    enable: { run: setDisabled(false), usage: DISABLE_USAGE },
    'rotate-secret': { run: rotateSecret, usage: ROTATE_USAGE },
  }, args, io);
}
