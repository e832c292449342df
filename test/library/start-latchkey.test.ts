import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as oidc from 'openid-client';
import { sql } from 'kysely';
import t from 'tap';
import { startLatchkey, type StartOptions } from '../../src/library.ts';
import { discover } from '../helpers/relying-party.ts';
import { introspect, tokenRequest } from '../helpers/token-requests.ts';

// Latchkey started inside a program (issue 14): a whole server from a setup
// object or file, on a free loopback port, with an in-memory database and
// keys of its own; several at once in one process, none sharing state; and
// stop() releasing everything, so that the program exits by itself.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const service = (clientId: string, secret: string) => ({
  client_id: clientId, client_secret: secret, token_endpoint_auth_method: 'client_secret_basic',
  grant_types: ['client_credentials'], response_types: [], redirect_uris: [], post_logout_redirect_uris: [], scope: 'api:read',
});
const introspector = { ...service('rs', 'rs-secret-for-library-tests'), scope: undefined, permissions: ['introspection'] };
const setupWith = (clientId: string, secret: string): Record<string, unknown> => ({
  realms: [{ name: 'default', clients: [service(clientId, secret), introspector], users: [{ username: 'dana', password: 'dana-password-for-library-tests' }] }],
});
// Databases of their own unless DATABASE_URL is set: the library's default (in memory) is what is tested here.
const database = (): Pick<StartOptions, 'databaseUrl'> => ({});

t.test('a setup object: discovery, a token for a real client, introspection; realms, clients and users named', async (t) => {
  const idp = await startLatchkey({ setup: setupWith('svc-a', 'svc-a-secret-for-library-tests'), ...database() });
  t.teardown(() => idp.stop());
  t.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+$/, 'on a loopback port');
  t.equal(idp.discoveryUrl, `${idp.issuer}/.well-known/openid-configuration`);
  t.same(idp.realms['default'], {
    name: 'default', issuer: idp.issuer, discoveryUrl: idp.discoveryUrl, tokenEndpoint: `${idp.issuer}/token`,
    clients: ['svc-a', 'rs'], users: ['dana'],
  });
  const config = await discover(idp.issuer, 'svc-a', 'svc-a-secret-for-library-tests');
  const tokens = await oidc.clientCredentialsGrant(config, { scope: 'api:read' });
  t.ok(tokens.access_token, 'openid-client got a token');
  const answer = await introspect(idp.issuer, tokens.access_token, ['rs', 'rs-secret-for-library-tests']);
  t.equal(answer.json?.['active'], true, 'and it introspects as active');
  t.equal(idp.adminUrl, undefined, 'no admin API unless asked for');
});

t.test('two at once in one process: their own ports, clients and tokens', async (t) => {
  const [a, b] = await Promise.all([
    startLatchkey({ setup: setupWith('svc-a', 'svc-a-secret-for-library-tests'), ...database() }),
    startLatchkey({ setup: setupWith('svc-b', 'svc-b-secret-for-library-tests'), ...database() }),
  ]);
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  t.not(a.issuer, b.issuer, 'two ports');
  const issued = await tokenRequest(a.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['svc-a', 'svc-a-secret-for-library-tests'] });
  t.equal(issued.status, 200);
  t.equal((await tokenRequest(b.issuer, { grant_type: 'client_credentials' }, { basic: ['svc-a', 'svc-a-secret-for-library-tests'] })).status, 401, 'a client of one is unknown to the other');
  t.equal((await introspect(b.issuer, String(issued.json!['access_token']), ['rs', 'rs-secret-for-library-tests'])).json?.['active'], false, 'a token of one is not the other\'s');
  await a.stop();
  t.equal((await tokenRequest(b.issuer, { grant_type: 'client_credentials' }, { basic: ['svc-b', 'svc-b-secret-for-library-tests'] })).status, 200, 'stopping one leaves the other running');
});

t.test('one after another: the next server finds nothing of the last one (its emptied database, or a new one)', async (t) => {
  const first = await startLatchkey({ setup: setupWith('svc-a', 'svc-a-secret-for-library-tests'), ...database() });
  await first.latchkey.services.accounts.create('default', { username: 'left-behind', password: 'left-behind-password-1' });
  t.equal((await tokenRequest(first.issuer, { grant_type: 'client_credentials' }, { basic: ['svc-a', 'svc-a-secret-for-library-tests'] })).status, 200);
  t.equal((await first.latchkey.services.issued.listTokens('default', { clientId: 'svc-a' }, { after: undefined, limit: 10 })).length, 1, 'the first one holds a token');
  await first.stop();

  const second = await startLatchkey({ setup: setupWith('svc-b', 'svc-b-secret-for-library-tests'), ...database() });
  t.teardown(() => second.stop());
  const { accounts, clients, issued } = second.latchkey.services;
  t.same((await accounts.list('default')).map((user) => user.username), ['dana'], 'only its own declared user');
  t.same((await clients.list('default')).map((client) => client.client_id).sort(), ['rs', 'svc-b'], 'only its own clients');
  t.same(await issued.listTokens('default', { clientId: 'svc-a' }, { after: undefined, limit: 10 }), [], 'no token of the last one');
  t.equal((await tokenRequest(second.issuer, { grant_type: 'client_credentials' }, { basic: ['svc-a', 'svc-a-secret-for-library-tests'] })).status, 401, 'the last one\'s client is unknown');

  // A database changed beyond what Latchkey makes is not handed on: the next one is new.
  await sql`CREATE SCHEMA stray`.execute(second.latchkey.services.database.db);
  await second.stop();
  const third = await startLatchkey({ setup: setupWith('svc-c', 'svc-c-secret-for-library-tests'), ...database() });
  t.teardown(() => third.stop());
  const schemas = await sql<{ count: number }>`SELECT count(*)::int AS count FROM pg_namespace WHERE nspname = 'stray'`.execute(third.latchkey.services.database.db);
  t.equal(schemas.rows[0]!.count, 0, 'no schema of the last one');
});

t.test('stop() while requests are in flight: each answered, refused or told 503 (arrived while closing), never another error; the next server starts clean', async (t) => {
  const busy = await startLatchkey({ setup: setupWith('svc-a', 'svc-a-secret-for-library-tests'), ...database() });
  const request = () => tokenRequest(busy.issuer, { grant_type: 'client_credentials' }, { basic: ['svc-a', 'svc-a-secret-for-library-tests'] })
    .then((answer) => answer.status, () => 'refused' as const);
  // Once the first is answered the others are being served: stop() then.
  const inFlight = Array.from({ length: 24 }, request);
  await Promise.race(inFlight);
  await busy.stop();
  const statuses = await Promise.all(inFlight);
  // A request that reaches a closing server on a kept-alive connection is told 503: the server is going away, try again.
  t.same(statuses.filter((status) => status !== 200 && status !== 503 && status !== 'refused'), [], `answered 200, 503 or refused at connect (${statuses.filter((s) => s === 200).length} answered; others: ${statuses.filter((s) => s !== 200).join(" ")})`);

  const next = await startLatchkey({ setup: setupWith('svc-b', 'svc-b-secret-for-library-tests'), ...database() });
  t.teardown(() => next.stop());
  t.same(await next.latchkey.services.issued.listTokens('default', { clientId: 'svc-a' }, { after: undefined, limit: 10 }), [], 'nothing of the stopped one');
  t.same(await next.auditEvents({ clientId: 'svc-a' }), [], 'not even its audit events');
});

t.test('a setup file with ${VAR} from env; the admin API on request', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-library-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'realm.yaml');
  await writeFile(file, [
    'realms:',
    '  - name: default',
    '    clients:',
    '      - client_id: from-file',
    '        client_secret: ${FROM_FILE_SECRET}',
    '        token_endpoint_auth_method: client_secret_basic',
    '        grant_types: [client_credentials]',
    '        response_types: []',
    '        redirect_uris: []',
    '        scope: api:read',
    '',
  ].join('\n'));
  const idp = await startLatchkey({ setup: file, env: { FROM_FILE_SECRET: 'from-file-secret-for-library-tests' }, admin: true, ...database() });
  t.teardown(() => idp.stop());
  t.equal((await tokenRequest(idp.issuer, { grant_type: 'client_credentials' }, { basic: ['from-file', 'from-file-secret-for-library-tests'] })).status, 200);
  t.match(idp.adminUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.equal((await fetch(`${idp.adminUrl}/reference`)).status, 200, 'the admin listener answers');
  t.equal((await fetch(`${idp.adminUrl}/openapi.json`)).status, 401, 'and wants a token');
});

t.test('a setup the server would refuse: rejected naming the problem, nothing left behind', async (t) => {
  const runs = async () => new Set((await readdir(os.tmpdir())).filter((name) => name.startsWith('latchkey-run-')));
  const before = await runs();
  const refused = await startLatchkey({ setup: { realms: [{ name: 'default', clients: [{ client_id: 'bad', grant_types: ['implicit'] }] }] } }).catch((error: Error) => error);
  t.type(refused, Error);
  t.match((refused as Error).message, /bad|grant_types/, 'names what is wrong');
  t.same([...await runs()].filter((name) => !before.has(name)), [], 'its temporary keys folder removed');
});

t.test('stop() releases everything: a program that starts, uses and stops three in turn exits by itself', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-library-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'program.ts');
  await writeFile(script, [
    `import { startLatchkey } from ${JSON.stringify(path.join(ROOT, 'src/library.ts'))};`,
    `const setup = ${JSON.stringify(setupWith('svc-a', 'svc-a-secret-for-library-tests'))};`,
    'for (const round of [1, 2, 3]) {',
    '  let started = performance.now();',
    '  const idp = await startLatchkey({ setup });',
    '  const startMs = performance.now() - started;',
    "  const answer = await fetch(`${idp.issuer}/token`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from('svc-a:svc-a-secret-for-library-tests').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });",
    '  started = performance.now();',
    '  await idp.stop();',
    '  console.log(JSON.stringify({ round, status: answer.status, startMs: Math.round(startMs), stopMs: Math.round(performance.now() - started) }));',
    '}',
    '',
  ].join('\n'));
  const child = spawn(process.execPath, [script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DATABASE_URL: '' } });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => { out += String(chunk); });
  child.stderr.on('data', (chunk) => { err += String(chunk); });
  const code = await new Promise<number | string>((resolve) => {
    // A deadline for a program that never exits (a timer or socket left open), not a speed check.
    const deadline = setTimeout(() => { child.kill('SIGKILL'); resolve('still running after 60 s'); }, 60_000);
    child.once('exit', (exitCode) => { clearTimeout(deadline); resolve(exitCode ?? 'killed'); });
  });
  t.equal(code, 0, `exited by itself${err ? `; stderr: ${err.slice(0, 500)}` : ''}`);
  const rounds = out.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { round: number; status: number; startMs: number; stopMs: number });
  t.same(rounds.map((r) => [r.round, r.status]), [[1, 200], [2, 200], [3, 200]], 'each served a token');
  t.comment(`start ${rounds.map((r) => r.startMs).join(' ms, then ')} ms; stop ${rounds.map((r) => r.stopMs).join(' ms, ')} ms`);
});

t.test('the temporary keys folder is removed by stop(); a given one is kept', async (t) => {
  const idp = await startLatchkey({ setup: setupWith('svc-a', 'svc-a-secret-for-library-tests') });
  t.ok(existsSync(idp.keysDir), 'keys in a folder of its own while running');
  await idp.stop();
  t.notOk(existsSync(idp.keysDir), 'removed by stop()');
  await idp.stop();
  t.pass('stop() twice is fine');
  const kept = await mkdtemp(path.join(os.tmpdir(), 'latchkey-library-keys-'));
  t.teardown(() => rm(kept, { recursive: true, force: true }));
  const withKeys = await startLatchkey({ setup: setupWith('svc-a', 'svc-a-secret-for-library-tests'), keysDir: kept });
  t.equal(withKeys.keysDir, kept);
  await withKeys.stop();
  t.ok(existsSync(kept), 'a given keys folder stays');
});
