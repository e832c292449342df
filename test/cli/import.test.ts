import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { tokenRequest } from '../helpers/token-requests.ts';
import { cliSandbox, migrateSandbox, startServerOn } from './cli-sandbox.ts';

// latchkey import: --dry-run, a good file applied twice (the second time
// changes nothing), and bad files (exit ≠ 0, the field named, no secret shown).
const sandbox = await cliSandbox(t);
await migrateSandbox(sandbox);

const WEB_SECRET = 'imported-web-secret-from-env';
const SVC_SECRET = 'imported-svc-secret-in-file';
const USER_PASSWORD = 'imported-user-password';
const env = { IMPORTED_WEB_SECRET: WEB_SECRET };

const goodFile = path.join(sandbox.dir, 'good.yaml');
await writeFile(goodFile, `realms:
  - name: default
    clients:
      - client_id: imported-web
        client_secret: \${IMPORTED_WEB_SECRET}
        client_name: Imported web app
        grant_types: [authorization_code, refresh_token]
        redirect_uris: [https://imported.example.test/cb]
        scope: openid profile
      - client_id: imported-svc
        client_secret: ${SVC_SECRET}
        grant_types: [client_credentials]
        response_types: []
        scope: api:read
    users:
      - username: imported-user
        password: ${USER_PASSWORD}
        email: imported@example.test
        name: Imported User
`);

interface Listed { client_id?: string; username?: string; updated_at: string; password_changed_at?: string; secret_storage?: string }
async function list(kind: 'clients' | 'users'): Promise<Listed[]> {
  const result = await sandbox.run([kind, 'list', '--json']);
  if (result.status !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout) as Listed[];
}

t.test('--dry-run validates and changes nothing', async (t) => {
  const result = await sandbox.run(['import', goodFile, '--dry-run'], { env });
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, /valid/);
  t.same(await list('clients'), [], 'no client stored');
  t.same(await list('users'), [], 'no user stored');
});

let before: { clients: Listed[]; users: Listed[] };

t.test('the first import creates everything, secrets hashed', async (t) => {
  const result = await sandbox.run(['import', goodFile], { env });
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, /realm default: clients 2 created, 0 updated, 0 unchanged; users 1 created, 0 updated/);
  before = { clients: await list('clients'), users: await list('users') };
  t.same(before.clients.map((c) => [c.client_id, c.secret_storage]), [['imported-svc', 'argon2id'], ['imported-web', 'argon2id']]);
  t.same(before.users.map((u) => u.username), ['imported-user']);
  for (const secret of [WEB_SECRET, SVC_SECRET, USER_PASSWORD]) t.notMatch(result.stdout + result.stderr, new RegExp(secret), 'no secret in the output');
});

t.test('the imported client and user work on a real server', async (t) => {
  const server = await startServerOn(t, sandbox);
  try {
    const granted = await tokenRequest(server.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['imported-svc', SVC_SECRET] });
    t.equal(granted.status, 200, `token issued (${granted.json?.['error'] ?? granted.status})`);
    t.ok(await server.services.accounts.authenticate('default', 'imported-user', USER_PASSWORD), 'the user signs in');
  } finally {
    await server.close();
  }
});

t.test('importing the same file again changes nothing', async (t) => {
  const result = await sandbox.run(['import', goodFile], { env });
  t.equal(result.status, 0, result.stderr);
  // applySetup counts every declared user that exists as "updated": it does not tell an unchanged one apart.
  t.match(result.stdout, /realm default: clients 0 created, 0 updated, 2 unchanged; users 0 created/);
  const clients = await list('clients');
  t.same(clients.map((c) => [c.client_id, c.updated_at]), before.clients.map((c) => [c.client_id, c.updated_at]), 'clients not rewritten');
  const users = await list('users');
  t.same(users.map((u) => [u.username, u.password_changed_at]), before.users.map((u) => [u.username, u.password_changed_at]), 'password not re-hashed');
});

t.test('a bad file: exit ≠ 0, the field is named, nothing applied, no secret shown', async (t) => {
  const badFile = path.join(sandbox.dir, 'bad.yaml');
  const leaked = 'bad-file-secret-must-not-leak';
  await writeFile(badFile, `realms:
  - name: default
    clients:
      - client_id: bad-web
        client_secret: ${leaked}
        grant_types: [authorization_code]
        redirect_uris: [https://ok.example.test/cb, "javascript:alert(1)"]
`);
  const result = await sandbox.run(['import', badFile], { env });
  t.not(result.status, 0);
  t.not(result.status, null);
  t.match(result.stderr, /^latchkey: .*realms\[0\]\.clients\[0\]\.redirect_uris\[1\]/m, 'names the field');
  t.equal(result.stderr.trim().split('\n').length, 1, 'one line');
  t.notMatch(result.stdout + result.stderr, new RegExp(leaked), 'the secret is not echoed');
  t.notOk((await list('clients')).some((c) => c.client_id === 'bad-web'), 'nothing applied');

  const dryRun = await sandbox.run(['import', badFile, '--dry-run'], { env });
  t.not(dryRun.status, 0, '--dry-run reports the same problem');
  t.match(dryRun.stderr, /redirect_uris\[1\]/);
});

t.test('a bad secret field is named without its value', async (t) => {
  const badFile = path.join(sandbox.dir, 'bad-secret.yaml');
  const leaked = 'x'.repeat(5000) + 'tail-of-a-too-long-secret';
  await writeFile(badFile, `realms:
  - name: default
    clients:
      - client_id: long-secret
        client_secret: ${leaked}
        grant_types: [client_credentials]
        response_types: []
`);
  const result = await sandbox.run(['import', badFile], { env });
  t.not(result.status, 0);
  t.match(result.stderr, /realms\[0\]\.clients\[0\]\.client_secret/, 'names the field');
  t.notMatch(result.stdout + result.stderr, /tail-of-a-too-long-secret|xxxxxxxxxx/, 'the value is not echoed');
});

t.test('an unset ${VAR} placeholder is named', async (t) => {
  const result = await sandbox.run(['import', goodFile], { env: { IMPORTED_WEB_SECRET: undefined } });
  t.not(result.status, 0);
  t.match(result.stderr, /IMPORTED_WEB_SECRET/);
});
