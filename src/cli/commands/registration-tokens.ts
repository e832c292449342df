import { UsageError } from '../../errors/index.ts';
import { DEFAULT_EXPIRES_IN, MAX_EXPIRES_IN, MAX_USES } from '../../registration/initial-access-tokens.ts';
import { loadCommandContext, withServices } from '../command-context.ts';
import { dispatch, parseCommandLine, requirePositional, write, type CliIo } from '../command-line.ts';

const ISSUE_USAGE = `Usage: latchkey registration-tokens issue [--realm R] [--expires-in SECONDS] [--uses N] [--description TEXT]

Issues an initial access token for dynamic client registration (RFC 7591):
the bearer token a registrant presents at the realm's registration
endpoint. The realm must enable registration in the setup file.

  --realm R               realm (default: default)
  --expires-in SECONDS    lifetime (default: ${DEFAULT_EXPIRES_IN}, at most ${MAX_EXPIRES_IN})
  --uses N                registrations it allows (default: 1, at most ${MAX_USES})
  --description TEXT      who or what it is for, shown by list

The token is printed once, on its own line; only its digest is stored.

Example:
  npx latchkey registration-tokens issue --realm acme --expires-in 3600 --uses 1`;

const LIST_USAGE = `Usage: latchkey registration-tokens list [--realm R] [--json]

Lists a realm's initial access tokens: id, uses left, expiry (never the tokens).`;

const REVOKE_USAGE = `Usage: latchkey registration-tokens revoke ID [--realm R]

Revokes an initial access token (ID as list shows it): it registers no more
clients. Clients it registered stay.`;

export const REGISTRATION_TOKENS_USAGE = `Usage: latchkey registration-tokens issue|list|revoke …

  issue [--expires-in S] [--uses N]   issue an initial access token (shown once)
  list [--json]                       list them (metadata only)
  revoke ID                           revoke one

Every subcommand takes --realm R (default: default).
Run \`latchkey registration-tokens <subcommand> --help\` for details.`;

/** A whole number given as a flag; what it may be is the service's to say. */
function wholeNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,10}$/.test(value)) throw new UsageError(`${flag}: a whole number`);
  return Number(value);
}

async function issue(args: string[], io: CliIo): Promise<number> {
  const command = 'latchkey registration-tokens issue';
  const parsed = parseCommandLine(args, {
    realm: { type: 'string' },
    'expires-in': { type: 'string' },
    uses: { type: 'string' },
    description: { type: 'string' },
  }, { command, positionals: [] });
  const { realm = 'default', description } = parsed.values;
  const request = {
    expires_in: wholeNumber(parsed.values['expires-in'], '--expires-in'),
    uses: wholeNumber(parsed.values.uses, '--uses'),
    description,
  };
  const { value, token } = await withServices(await loadCommandContext(io), command, (services) => services.initialAccessTokens.issue(realm, request));
  write(io.stderr, `Issued initial access token ${token.id} for realm ${realm}: ${token.uses_allowed} registration(s), expires ${token.expires_at.toISOString()}. It is shown once:`);
  write(io.stdout, value);
  return 0;
}

async function list(args: string[], io: CliIo): Promise<number> {
  const command = 'latchkey registration-tokens list';
  const parsed = parseCommandLine(args, { realm: { type: 'string' }, json: { type: 'boolean' } }, { command, positionals: [] });
  const realm = parsed.values.realm ?? 'default';
  const tokens = await withServices(await loadCommandContext(io), command, (services) => services.initialAccessTokens.page(realm, { limit: MAX_LISTED }));
  if (parsed.values.json) {
    write(io.stdout, JSON.stringify(tokens, null, 2));
    return 0;
  }
  if (tokens.length === 0) {
    write(io.stdout, `No initial access tokens in realm ${realm}.`);
    return 0;
  }
  const rows = tokens.map((token) => [token.id, `${token.uses_left}/${token.uses_allowed}`, token.expires_at.toISOString(), token.description ?? '']);
  const header = ['ID', 'USES LEFT', 'EXPIRES', 'DESCRIPTION'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) write(io.stdout, row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  return 0;
}

/** More than any realm should have at once; the admin API pages through any number. */
const MAX_LISTED = 10_000;

async function revoke(args: string[], io: CliIo): Promise<number> {
  const command = 'latchkey registration-tokens revoke';
  const parsed = parseCommandLine(args, { realm: { type: 'string' } }, { command, positionals: ['ID'] });
  const id = requirePositional(parsed, 0, 'ID', command);
  const realm = parsed.values.realm ?? 'default';
  await withServices(await loadCommandContext(io), command, (services) => services.initialAccessTokens.revoke(realm, id));
  write(io.stdout, `Revoked initial access token ${id} of realm ${realm}; clients it registered stay.`);
  return 0;
}

export function registrationTokens(args: string[], io: CliIo): Promise<number> {
  return dispatch('registration-tokens', REGISTRATION_TOKENS_USAGE, {
    issue: { run: issue, usage: ISSUE_USAGE },
    list: { run: list, usage: LIST_USAGE },
    revoke: { run: revoke, usage: REVOKE_USAGE },
  }, args, io);
}
