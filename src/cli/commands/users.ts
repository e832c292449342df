import { accountView } from '../../accounts/account-view.ts';
import { loadCommandContext, withServices } from '../command-context.ts';
import { roleListProblem, usernameProblem } from '../../config/index.ts';
import { CliError, UsageError } from '../../errors/index.ts';
import { dispatch, parseCommandLine, requirePositional, write, type CliIo } from '../command-line.ts';
import { readNewPassword } from '../password-input.ts';

const REALM_HELP = '  --realm R          realm (default: default)';
const PASSWORD_HELP = `  --password-stdin   read the password from stdin (one trailing newline is
                     removed); without it you are prompted when stdin is a
                     terminal. Passwords are never accepted as arguments.`;

const ROLE_HELP = `  --role R           a role (repeatable): the \`roles\` claim, with the \`roles\` scope
  --group G          a group (repeatable): the \`groups\` claim, with the \`groups\` scope`;

const ADD_USAGE = `Usage: latchkey users add USERNAME [--realm R] [--email E] [--name N] [--role R]… [--group G]… [--password-stdin]

Creates a user.

${REALM_HELP}
  --email E          e-mail address (also accepted as the login name)
  --name N           display name (the \`name\` claim)
${ROLE_HELP}
${PASSWORD_HELP}

Example: printf '%s' "$PASSWORD" | npx latchkey users add jane --email jane@example.com --password-stdin`;

const LIST_USAGE = `Usage: latchkey users list [--realm R] [--json]

Lists the users of a realm (never their password hashes).

${REALM_HELP}
  --json             machine-readable output`;

const PASSWD_USAGE = `Usage: latchkey users passwd USERNAME [--realm R] [--password-stdin]

Sets a user's password and revokes everything issued to the user (sessions,
grants, tokens).

${REALM_HELP}
${PASSWORD_HELP}`;

const SET_ROLES_USAGE = `Usage: latchkey users set-roles USERNAME [--realm R] [--role R]… [--group G]…

Replaces a user's roles, groups, or both: a list is replaced when its flag is
given, kept otherwise; --no-roles and --no-groups empty one. Tokens already
issued keep the roles they were issued with; the next ones (a refresh, a
sign-in) carry the new.

${REALM_HELP}
${ROLE_HELP}
  --no-roles         remove every role
  --no-groups        remove every group`;

const REMOVE_USAGE = `Usage: latchkey users remove USERNAME [--realm R]

Removes a user and revokes everything issued to the user.

${REALM_HELP}`;

export const USERS_USAGE = `Usage: latchkey users add|list|passwd|set-roles|remove …

  add USERNAME [--email E] [--name N] [--role R]… [--group G]… [--password-stdin]
  list [--json]
  passwd USERNAME [--password-stdin]
  set-roles USERNAME [--role R]… [--group G]… [--no-roles] [--no-groups]
  remove USERNAME

Every subcommand takes --realm R (default: default).
Run \`latchkey users <subcommand> --help\` for details.`;

const realmOption = { realm: { type: 'string' } } as const;

async function add(args: string[], io: CliIo): Promise<number> {
  const command = 'latchkey users add';
  const parsed = parseCommandLine(args, {
    ...realmOption,
    email: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string', multiple: true },
    group: { type: 'string', multiple: true },
    'password-stdin': { type: 'boolean' },
  }, { command, positionals: ['USERNAME'] });
  const username = checkUsername(requirePositional(parsed, 0, 'USERNAME', command));
  const { email, name } = parsed.values;
  const roles = checkNames(parsed.values.role, '--role');
  const groups = checkNames(parsed.values.group, '--group');
  if (email !== undefined && !/^[^\s@]+@[^\s@]+$/.test(email)) throw new UsageError('--email: not an e-mail address');
  const realm = parsed.values.realm ?? 'default';

  // Read before the database is opened: a prompt must never hold the embedded database's lock.
  const password = await readNewPassword(io, { fromStdin: parsed.values['password-stdin'] ?? false, command });
  const context = await loadCommandContext(io);
  const user = await withServices(context, command, (services) => services.accounts.create(realm, {
    username,
    password,
    email: email ?? null,
    email_verified: false,
    claims: name ? { name } : {},
    roles: roles ?? [],
    groups: groups ?? [],
  }));
  write(io.stdout, `Created user ${user.username} in realm ${realm} (sub ${user.id}).`);
  return 0;
}

async function list(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandLine(args, { ...realmOption, json: { type: 'boolean' } }, { command: 'latchkey users list', positionals: [] });
  const realm = parsed.values.realm ?? 'default';
  const context = await loadCommandContext(io);
  const users = (await withServices(context, 'latchkey users list', (services) => services.accounts.list(realm))).map(accountView);
  if (parsed.values.json) {
    write(io.stdout, JSON.stringify(users, null, 2));
  } else if (users.length === 0) {
    write(io.stdout, `No users in realm ${realm}.`);
  } else {
    const width = Math.max(8, ...users.map((u) => u.username.length));
    write(io.stdout, `${'USERNAME'.padEnd(width)}  ${'EMAIL'.padEnd(30)}  STATUS`);
    for (const user of users) {
      const email = user.email ? `${user.email}${user.email_verified ? '' : ' (unverified)'}` : '-';
      const password = user.password_storage === 'argon2id' ? '' : user.password_storage === 'none' ? ', no password' : `, ${user.password_storage} hash until the first sign-in`;
      write(io.stdout, `${user.username.padEnd(width)}  ${email.padEnd(30)}  ${user.disabled ? 'disabled' : 'active'}${password}`);
    }
  }
  return 0;
}

async function passwd(args: string[], io: CliIo): Promise<number> {
  const command = 'latchkey users passwd';
  const parsed = parseCommandLine(args, { ...realmOption, 'password-stdin': { type: 'boolean' } }, { command, positionals: ['USERNAME'] });
  const username = requirePositional(parsed, 0, 'USERNAME', command);
  const realm = parsed.values.realm ?? 'default';
  const context = await loadCommandContext(io);
  const fromStdin = parsed.values['password-stdin'] ?? false;
  // Before a prompt, look the user up: nobody should type a password for a user who does not exist.
  if (!fromStdin) await requireUser(context, realm, username, command);
  const password = await readNewPassword(io, { fromStdin, command });
  await withServices(context, command, (services) => services.accounts.setPassword(realm, username, password));
  write(io.stdout, `Password of ${username} in realm ${realm} changed; the user's sessions and tokens are revoked.`);
  return 0;
}

async function setRoles(args: string[], io: CliIo): Promise<number> {
  const command = 'latchkey users set-roles';
  const parsed = parseCommandLine(args, {
    ...realmOption,
    role: { type: 'string', multiple: true },
    group: { type: 'string', multiple: true },
    'no-roles': { type: 'boolean' },
    'no-groups': { type: 'boolean' },
  }, { command, positionals: ['USERNAME'] });
  const username = requirePositional(parsed, 0, 'USERNAME', command);
  const realm = parsed.values.realm ?? 'default';
  const { 'no-roles': noRoles, 'no-groups': noGroups } = parsed.values;
  if (noRoles && parsed.values.role) throw new UsageError('--no-roles and --role: give one or the other');
  if (noGroups && parsed.values.group) throw new UsageError('--no-groups and --group: give one or the other');
  const roles = noRoles ? [] : checkNames(parsed.values.role, '--role');
  const groups = noGroups ? [] : checkNames(parsed.values.group, '--group');
  if (!roles && !groups) throw new UsageError('nothing to set: give --role, --group, --no-roles or --no-groups');
  const context = await loadCommandContext(io);
  await withServices(context, command, (services) => services.accounts.setAuthorisation(realm, username, { roles, groups }));
  const said = [roles && `roles: ${roles.join(', ') || '(none)'}`, groups && `groups: ${groups.join(', ') || '(none)'}`].filter(Boolean).join('; ');
  write(io.stdout, `User ${username} in realm ${realm}: ${said}. Tokens issued from now on carry them.`);
  return 0;
}

/** Role or group names from repeated flags, checked by the role rules (src/config/role-rules.ts). */
function checkNames(names: string[] | undefined, flag: string): string[] | undefined {
  if (names === undefined) return undefined;
  const problem = roleListProblem(names, flag);
  if (problem) throw new UsageError(`${problem.field}: ${problem.message}`);
  return names;
}

async function remove(args: string[], io: CliIo): Promise<number> {
  const command = 'latchkey users remove';
  const parsed = parseCommandLine(args, realmOption, { command, positionals: ['USERNAME'] });
  const username = requirePositional(parsed, 0, 'USERNAME', command);
  const realm = parsed.values.realm ?? 'default';
  const context = await loadCommandContext(io);
  await withServices(context, command, (services) => services.accounts.remove(realm, username));
  write(io.stdout, `Removed user ${username} from realm ${realm}; the user's sessions and tokens are revoked.`);
  return 0;
}

async function requireUser(context: Awaited<ReturnType<typeof loadCommandContext>>, realm: string, username: string, command: string): Promise<void> {
  const user = await withServices(context, command, (services) => services.accounts.findByUsername(realm, username));
  if (!user) throw new CliError(`no user ${username} in realm ${realm}`);
}

function checkUsername(username: string): string {
  const problem = usernameProblem(username);
  if (problem) throw new UsageError(`USERNAME: ${problem}`);
  return username;
}

export function users(args: string[], io: CliIo): Promise<number> {
  return dispatch('users', USERS_USAGE, {
    add: { run: add, usage: ADD_USAGE },
    list: { run: list, usage: LIST_USAGE },
    passwd: { run: passwd, usage: PASSWD_USAGE },
    'set-roles': { run: setRoles, usage: SET_ROLES_USAGE },
    remove: { run: remove, usage: REMOVE_USAGE },
  }, args, io);
}
