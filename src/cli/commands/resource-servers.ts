import { checkResourceServer, DEFAULT_ACCESS_TOKEN_ALGORITHM, TOKEN_FORMATS } from '../../config/index.ts';
import { CliError, UsageError } from '../../errors/index.ts';
import { SIGNING_ALGORITHMS } from '../../keys/algorithms.ts';
import { loadCommandContext, withServices } from '../command-context.ts';
import { dispatch, parseCommandLine, requirePositional, write, type CliIo } from '../command-line.ts';

const ADD_USAGE = `Usage: latchkey resource-servers add IDENTIFIER --scope "a b" [options]

Declares an API that access tokens are issued for (RFC 8707). IDENTIFIER is
an absolute URI (https://orders.example.com, api://default, urn:…): clients
ask for it with the \`resource\` parameter or name it as their
default_resource, and it becomes the token's audience (\`aud\`).

  --realm R             realm (default: default)
  --scope "a b"         the scopes the API accepts (a token for it carries no other)
  --format F            ${TOKEN_FORMATS.join(' or ')} (default: jwt, RFC 9068)
  --lifetime SECONDS    access-token lifetime (default: the realm's, or the client's)
  --algorithm ALG       ${SIGNING_ALGORITHMS.join(', ')} (default: ${DEFAULT_ACCESS_TOKEN_ALGORITHM})

A running server sees a new or changed resource server within 5 seconds.

Example:
  npx latchkey resource-servers add https://orders.example.com --scope "orders:read orders:write"`;

const LIST_USAGE = `Usage: latchkey resource-servers list [--realm R] [--json]

Lists the resource servers of a realm with their access-token policy.`;

const REMOVE_USAGE = `Usage: latchkey resource-servers remove IDENTIFIER [--realm R]

Removes a resource server: no new token is issued for it. Tokens already
issued stay valid until they expire or are revoked.`;

export const RESOURCE_SERVERS_USAGE = `Usage: latchkey resource-servers add|list|remove …

  add IDENTIFIER --scope "a b" [options]   declare an API (RFC 8707)
  list [--json]                            list them with their token policy
  remove IDENTIFIER                        stop issuing tokens for one

Every subcommand takes --realm R (default: default).
Run \`latchkey resource-servers <subcommand> --help\` for details.`;

async function add(args: string[], io: CliIo): Promise<number> {
  const command = 'latchkey resource-servers add';
  const parsed = parseCommandLine(args, {
    realm: { type: 'string' },
    scope: { type: 'string' },
    format: { type: 'string' },
    lifetime: { type: 'string' },
    algorithm: { type: 'string' },
  }, { command, positionals: ['IDENTIFIER'] });
  const identifier = requirePositional(parsed, 0, 'IDENTIFIER', command);
  const { realm = 'default', scope, format, lifetime, algorithm } = parsed.values;
  if (lifetime !== undefined && !/^\d+$/.test(lifetime)) throw new UsageError('--lifetime: a whole number of seconds');
  const definition = {
    identifier,
    scopes: (scope ?? '').split(' ').filter(Boolean),
    access_token: {
      ...(format === undefined ? {} : { format }),
      ...(lifetime === undefined ? {} : { lifetime: Number(lifetime) }),
      ...(algorithm === undefined ? {} : { algorithm }),
    },
  };
  // Judged before the database is opened, by the setup file's rules: a refusal is a usage error (2).
  const check = checkResourceServer(definition);
  if (check.server === undefined) {
    const [{ field, message }] = check.problems;
    throw new UsageError(`${field}: ${message}`);
  }
  const server = check.server;
  await withServices(await loadCommandContext(io), command, async (services) => {
    if (await services.resourceServers.find(realm, identifier)) {
      throw new CliError(`resource server ${identifier} already exists in realm ${realm}; remove it first`);
    }
    await services.resourceServers.put(realm, { ...server });
  });
  const { format: tokenFormat, algorithm: alg } = server.access_token;
  write(io.stdout, `Created resource server ${identifier} in realm ${realm} (${tokenFormat === 'jwt' ? `JWT access tokens, ${alg}` : 'opaque access tokens'}; scopes ${server.scopes.join(' ') || '(none)'}).`);
  return 0;
}

async function list(args: string[], io: CliIo): Promise<number> {
  const command = 'latchkey resource-servers list';
  const parsed = parseCommandLine(args, { realm: { type: 'string' }, json: { type: 'boolean' } }, { command, positionals: [] });
  const realm = parsed.values.realm ?? 'default';
  const servers = await withServices(await loadCommandContext(io), command, (services) => services.resourceServers.list(realm));
  if (parsed.values.json) {
    write(io.stdout, JSON.stringify(servers, null, 2));
    return 0;
  }
  if (servers.length === 0) {
    write(io.stdout, `No resource servers in realm ${realm}.`);
    return 0;
  }
  const rows = servers.map((s) => [
    s.identifier,
    s.access_token.format === 'jwt' ? `jwt ${s.access_token.algorithm}` : 'opaque',
    s.access_token.lifetime === undefined ? 'realm' : `${s.access_token.lifetime}s`,
    s.scopes.join(' '),
  ]);
  const header = ['IDENTIFIER', 'FORMAT', 'LIFETIME', 'SCOPES'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) write(io.stdout, row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  return 0;
}

async function remove(args: string[], io: CliIo): Promise<number> {
  const command = 'latchkey resource-servers remove';
  const parsed = parseCommandLine(args, { realm: { type: 'string' } }, { command, positionals: ['IDENTIFIER'] });
  const identifier = requirePositional(parsed, 0, 'IDENTIFIER', command);
  const realm = parsed.values.realm ?? 'default';
  const removed = await withServices(await loadCommandContext(io), command, (services) => services.resourceServers.remove(realm, identifier));
  if (!removed) throw new CliError(`no resource server ${identifier} in realm ${realm}`);
  write(io.stdout, `Removed resource server ${identifier} from realm ${realm}; tokens already issued for it stay valid until they expire or are revoked.`);
  return 0;
}

export function resourceServers(args: string[], io: CliIo): Promise<number> {
  return dispatch('resource-servers', RESOURCE_SERVERS_USAGE, {
    add: { run: add, usage: ADD_USAGE },
    list: { run: list, usage: LIST_USAGE },
    remove: { run: remove, usage: REMOVE_USAGE },
  }, args, io);
}
