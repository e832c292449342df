import t from 'tap';
import { assertOneLineError, cliSandbox } from './cli-sandbox.ts';

// The command line itself: help, exit statuses, and secrets kept off argv.
// None of these reach a database.
const sandbox = await cliSandbox(t, { embedded: true });

t.test('--help lists the commands and exits 0', async (t) => {
  const result = await sandbox.run(['--help']);
  t.equal(result.status, 0);
  for (const command of ['serve', 'migrate', 'import', 'clients', 'users']) t.match(result.stdout, new RegExp(`^  ${command}\\b`, 'm'), command);
  t.equal(result.stderr, '');
});

t.test('each command has its own --help', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['serve', '--help'], /^Usage: latchkey serve/],
    [['migrate', '--help'], /^Usage: latchkey migrate \[latest\|down\|status\]/],
    [['migrate', 'status', '--help'], /^Usage: latchkey migrate status/],
    [['import', '--help'], /^Usage: latchkey import FILE \[--dry-run\]/],
    [['clients', '--help'], /^Usage: latchkey clients add\|list\|remove/],
    [['clients', 'add', '--help'], /--redirect-uri URI/],
    [['users', 'passwd', '-h'], /^Usage: latchkey users passwd USERNAME/],
  ];
  const results = await Promise.all(cases.map(([args]) => sandbox.run(args)));
  cases.forEach(([args, pattern], i) => {
    t.equal(results[i]!.status, 0, args.join(' '));
    t.match(results[i]!.stdout, pattern, `${args.join(' ')} prints its usage`);
  });
});

t.test('an unknown command is a usage error (2)', async (t) => {
  const result = await sandbox.run(['frobnicate']);
  t.equal(result.status, 2);
  assertOneLineError(t, result, /unknown command "frobnicate"/);
  t.equal(result.stdout, '');
});

t.test('no command at all prints the usage on stderr and exits 2', async (t) => {
  const result = await sandbox.run([]);
  t.equal(result.status, 2);
  t.match(result.stderr, /^Usage: latchkey <command>/);
});

t.test('unknown subcommands and flags, missing arguments: 2, one line', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['users', 'rename', 'alice'], /unknown subcommand "rename"/],
    [['clients', 'list', '--verbose'], /unknown option --verbose/],
    [['migrate', 'sideways'], /unknown subcommand "sideways"/],
    [['users', 'remove'], /missing USERNAME/],
    [['clients', 'add'], /missing ID/],
    [['import'], /missing FILE/],
    [['clients', 'list', '--realm'], /--realm needs a value/],
    [['clients', 'list', '--json=yes'], /--json takes no value/],
    [['users', 'list', 'extra'], /unexpected extra argument/],
    [['clients'], /missing subcommand/],
  ];
  // Independent processes that touch no database: run side by side.
  const results = await Promise.all(cases.map(([args]) => sandbox.run(args)));
  cases.forEach(([args, pattern], i) => {
    t.equal(results[i]!.status, 2, args.join(' '));
    assertOneLineError(t, results[i]!, pattern);
  });
});

t.test('clients add checks its flags with the client rules, naming the field', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['clients', 'add', 'x', '--grant', 'implicit'], /grant_types\[0\]: must be one of/],
    [['clients', 'add', 'x', '--auth-method', 'client_secret_jwt', '--grant', 'client_credentials'], /token_endpoint_auth_method: must be one of/],
    [['clients', 'add', 'x'], /redirect_uris: at least one is required/],
    [['clients', 'add', 'x', '--redirect-uri', 'javascript:alert(1)'], /redirect_uris\[0\]: the javascript: scheme is not allowed/],
    [['clients', 'add', 'x', '--redirect-uri', 'http://app.example.com/cb'], /redirect_uris\[0\]: must use https/],
    [['clients', 'add', 'x', '--redirect-uri', 'https://app.example.com/cb#frag'], /redirect_uris\[0\]: must not contain a fragment/],
    [['clients', 'add', 'x', '--grant', 'client_credentials', '--auth-method', 'none'], /grant_types: a public client/],
    [['clients', 'add', 'x', '--grant', 'client_credentials', '--permission', 'superuser'], /permissions\[0\]: must be one of introspection, admin/],
    [['clients', 'add', 'x', '--grant', 'client_credentials', '--scope', 'a "b"'], /scope: /],
    [['clients', 'add', 'x', '--grant', 'client_credentials', '--auth-method', 'private_key_jwt'], /jwks_uri: private_key_jwt needs jwks_uri or jwks/],
  ];
  // Independent processes that touch no database: run side by side.
  const results = await Promise.all(cases.map(([args]) => sandbox.run(args)));
  cases.forEach(([args, pattern], i) => {
    t.equal(results[i]!.status, 2, args.join(' '));
    assertOneLineError(t, results[i]!, pattern);
  });
});

t.test('a password or secret on argv is refused without being echoed', async (t) => {
  for (const args of [
    ['users', 'add', 'bob', '--password', 'hunter2-argv-secret'],
    ['users', 'add', 'bob', '--password=hunter2-argv-secret'],
    ['users', 'passwd', 'bob', '--pass', 'hunter2-argv-secret'],
    ['clients', 'add', 'svc2', '--grant', 'client_credentials', '--client-secret', 'hunter2-argv-secret'],
  ]) {
    const result = await sandbox.run(args);
    t.equal(result.status, 2, args.join(' '));
    assertOneLineError(t, result, /not accepted on the command line/);
    t.notMatch(result.stderr + result.stdout, /hunter2-argv-secret/, 'the value is not repeated');
  }
  // A stray positional could be a password typed in the wrong place: it is not echoed either.
  const stray = await sandbox.run(['users', 'add', 'bob', 'hunter2-argv-secret']);
  t.equal(stray.status, 2);
  t.notMatch(stray.stderr, /hunter2-argv-secret/);
});

t.test('without --password-stdin and without a terminal, users add refuses (2)', async (t) => {
  const result = await sandbox.run(['users', 'add', 'bob'], { stdin: 'typed-but-not-asked-for\n' });
  t.equal(result.status, 2);
  assertOneLineError(t, result, /--password-stdin/);
});
