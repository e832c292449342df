import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { terminalProgress } from '../../src/cli/import-progress.ts';
import { loadDeclarativeFile } from '../../src/config/index.ts';
import { postForm } from '../helpers/token-requests.ts';
import { assertOneLineError, cliSandbox, migrateSandbox, startServerOn } from './cli-sandbox.ts';

// Issue 11: `latchkey import realm-export.json` with a Keycloak export: the
// summary (also with --dry-run), the import all or nothing, and a second
// import that changes nothing, also after users' hashes were replaced.
const FIXTURE = fileURLToPath(new URL('../fixtures/keycloak/realm-export.json', import.meta.url));
const sandbox = await cliSandbox(t);
await migrateSandbox(sandbox);

interface Listed { username: string; password_storage: string; updated_at: string; password_changed_at: string }
async function users(realm = 'acme-corp'): Promise<Listed[]> {
  const result = await sandbox.run(['users', 'list', '--realm', realm, '--json']);
  if (result.status !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout) as Listed[];
}

t.test('--dry-run prints the summary and changes nothing', async (t) => {
  const result = await sandbox.run(['import', FIXTURE, '--dry-run']);
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, /^Keycloak realm "Acme-Corp" → Latchkey realm acme-corp$/m);
  t.match(result.stdout, /needs your attention:/);
  t.match(result.stdout, /not imported \(no equivalent in Latchkey\):[\s\S]*identity providers/);
  t.match(result.stdout, /is valid: acme-corp \(5 client\(s\), 14 user\(s\)\)\. Nothing changed/);
  t.match(result.stdout, /note: realm acme-corp is not in LATCHKEY_CONFIG/);
  t.same(await users(), []);
});

let first: Listed[];

t.test('the import: summary, then what was created', async (t) => {
  const result = await sandbox.run(['import', FIXTURE]);
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, /users: 14 — 11 keep their Keycloak password hash/);
  t.match(result.stdout, /realm acme-corp: clients 5 created, 0 updated, 0 unchanged; users 14 created, 0 updated, 0 unchanged \(2 created without a password\)/);
  t.notMatch(result.stdout + result.stderr, /secret-from-keycloak|frank-password-6/, 'no secret or password printed');
  first = await users();
  const storage = Object.fromEntries(first.map((u) => [u.username, u.password_storage]));
  t.match(storage, {
    alice: 'pbkdf2-sha256', bob: 'pbkdf2-sha512', carol: 'pbkdf2-sha1', dave: 'argon2id', erin: 'argon2i',
    frank: 'argon2id', grace: 'none', larry: 'none', 'workshop-admin1': 'argon2id',
  });
  const text = await sandbox.run(['users', 'list', '--realm', 'acme-corp']);
  t.match(text.stdout, /^alice\s+alice@acme\.example\s+active, pbkdf2-sha256 hash until the first sign-in$/m);
  t.match(text.stdout, /^grace\s+grace@acme\.example\s+active, no password$/m);
});

t.test('a server given the export signs its users in; importing it again changes nothing', async (t) => {
  const server = await startServerOn(t, sandbox, await loadDeclarativeFile(FIXTURE, { env: {}, nodeEnv: 'test' }));
  try {
    const granted = await postForm(`${server.issuer}/realms/acme-corp/protocol/openid-connect/token`, { grant_type: 'password', username: 'alice', password: 'alice-Pässwörd-1' },
      { basic: ['legacy-script', 'legacy-script-secret-from-keycloak'] });
    t.equal(granted.status, 200, granted.text);
  } finally {
    await server.close();
  }
  const signedIn = await users();
  t.equal(signedIn.find((u) => u.username === 'alice')!.password_storage, 'argon2id', 'alice\'s hash was replaced at her sign-in');

  const again = await sandbox.run(['import', FIXTURE]);
  t.equal(again.status, 0, again.stderr);
  t.match(again.stdout, /realm acme-corp: clients 0 created, 0 updated, 5 unchanged; users 0 created, 0 updated, 14 unchanged/);
  const after = await users();
  t.same(after.map((u) => [u.username, u.password_storage, u.updated_at, u.password_changed_at]),
    signedIn.map((u) => [u.username, u.password_storage, u.updated_at, u.password_changed_at]), 'nothing rewritten, nothing re-hashed, alice keeps argon2id');
  t.same(after.map((u) => u.password_changed_at), first.map((u) => u.password_changed_at));
});

t.test('all or nothing: a client the rules refuse, late in the file, leaves nothing of it imported', async (t) => {
  const document = JSON.parse(await readFile(FIXTURE, 'utf8')) as Record<string, any>;
  document['realm'] = 'Acme-Staging';
  document['roles']['realm'][0]['name'] = 'default-roles-acme-staging';
  document['clients'].push({ clientId: 'insecure', secret: 'insecure-secret', redirectUris: ['http://insecure.acme.example/cb'] });
  const file = path.join(sandbox.dir, 'staging-export.json');
  await writeFile(file, JSON.stringify(document));
  const result = await sandbox.run(['import', file]);
  t.equal(result.status, 1, 'refused like any bad setup file');
  assertOneLineError(t, result, /clients\[16\]: client "insecure": redirect_uris\[0\] \(as translated\): must use https/);
  t.same(await users('acme-staging'), [], 'no user of the realm was imported');
  const clients = await sandbox.run(['clients', 'list', '--realm', 'acme-staging']);
  t.match(clients.stdout, /No clients/);
});

t.test('progress on a terminal: nothing for a few seconds, then one line redrawn, cleared at the end', async (t) => {
  let written = '';
  const terminal = Object.assign(new Writable({ write(chunk, _encoding, done) { written += String(chunk); done(); } }), { isTTY: true });
  let now = 0;
  const progress = terminalProgress(terminal, () => now);
  progress.report!({ realm: 'big', done: 1000, total: 10_000 });
  t.equal(written, '', 'quiet during the first seconds');
  now = 3000;
  progress.report!({ realm: 'big', done: 3000, total: 10_000 });
  now = 3100;
  progress.report!({ realm: 'big', done: 4000, total: 10_000 });
  now = 3500;
  progress.report!({ realm: 'big', done: 10_000, total: 10_000 });
  progress.done();
  t.equal(written, '\r\x1b[Kimporting realm big: users 3000/10000\r\x1b[Kimporting realm big: users 10000/10000\r\x1b[K');
  const pipe = terminalProgress(new Writable({ write(_chunk, _encoding, done) { done(); } }));
  t.equal(pipe.report, undefined, 'none on a pipe');
});
