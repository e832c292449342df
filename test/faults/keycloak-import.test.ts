import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import t from 'tap';
import { runLatchkey } from '../cli/cli-sandbox.ts';
import { proxiedDatabase, type ProxiedDatabase } from '../helpers/proxied-database.ts';

// Issue 11: a Keycloak import is one transaction. The database connection
// is cut exactly before one of its last statements — the COMMIT, the last
// batch of users, an earlier batch (its rows already written inside the
// transaction) — and each time nothing of the realm is left behind; the
// same command then imports everything. Two imports at once (replicas
// starting together with the same LATCHKEY_CONFIG) take turns.
const first = await proxiedDatabase(t);
const second = first && await proxiedDatabase(t);
const third = second && await proxiedDatabase(t);
if (!first || !second || !third) {
  t.plan(0, 'no PostgreSQL server reachable to inject faults into');
} else {
  const FIXTURE = fileURLToPath(new URL('../fixtures/keycloak/realm-export.json', import.meta.url));
  const document = JSON.parse(await readFile(FIXTURE, 'utf8')) as Record<string, any>;
  // Enough users for three INSERT batches (a thousand rows each), with the fixture's kept hashes.
  const template = document['users'].find((u: { username: string }) => u.username === 'bob');
  for (let i = 0; i < 2500; i += 1) document['users'].push({ ...template, username: `user${i}`, email: `user${i}@acme.example` });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-kc-fault-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'export.json');
  await writeFile(file, JSON.stringify(document));
  await writeFile(path.join(dir, 'latchkey.yaml'), 'realms: []\n');

  const importVia = (database: ProxiedDatabase, url = database.viaProxy) => runLatchkey(['import', file], {
    env: {
      PATH: process.env.PATH ?? '', NODE_ENV: 'test', LATCHKEY_DATA_DIR: path.join(dir, 'data'), LATCHKEY_KEYS_DIR: path.join(dir, 'keys'),
      LATCHKEY_CONFIG: path.join(dir, 'latchkey.yaml'), DATABASE_URL: url, DATABASE_CONNECT_TIMEOUT_MS: '2000',
    },
  });
  const counts = async (database: ProxiedDatabase) => {
    const client = new pg.Client({ connectionString: database.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ users: string; clients: string }>(
        `select (select count(*) from users where realm = 'acme-corp') as users, (select count(*) from clients where realm = 'acme-corp') as clients`);
      return { users: Number(rows[0]!.users), clients: Number(rows[0]!.clients) };
    } finally {
      await client.end();
    }
  };

  // How many statements a whole import sends, counted on a twin database in the same state.
  const before = first.proxy.statements;
  const counted = await importVia(first);
  if (counted.status !== 0) throw new Error(`the import failed: ${counted.stderr}`);
  const statements = first.proxy.statements - before;

  for (const [fromEnd, what] of [[0, 'the COMMIT'], [1, 'the last batch of users'], [3, 'the first batch of users']] as const) {
    t.test(`a fault at ${what}: nothing imported`, async (t) => {
      const { proxy } = second;
      proxy.failAtStatement(statements - fromEnd);
      const result = await importVia(second);
      await proxy.restore();
      t.not(result.status, 0, 'the command fails');
      t.match(result.stderr, /^latchkey: database unavailable/m, 'says why');
      t.same(await counts(second), { users: 0, clients: 0 }, 'no user and no client of the realm in the database');
    });
  }

  t.test('then the same command imports everything', async (t) => {
    const result = await importVia(second);
    t.equal(result.status, 0, result.stderr);
    t.same(await counts(second), await counts(first));
    t.same(await counts(second), { users: 2514, clients: 5 });
  });

  t.test('two imports at once take turns: both succeed, one creates, the other finds everything unchanged', async (t) => {
    const results = await Promise.all([importVia(third, third.databaseUrl), importVia(third, third.databaseUrl)]);
    t.same(results.map((r) => r.status), [0, 0], results.map((r) => r.stderr).join(''));
    const reports = results.map((r) => /realm acme-corp: .*$/m.exec(r.stdout)?.[0]).sort();
    t.same(reports, [
      'realm acme-corp: clients 0 created, 0 updated, 5 unchanged; users 0 created, 0 updated, 2514 unchanged',
      'realm acme-corp: clients 5 created, 0 updated, 0 unchanged; users 2514 created, 0 updated, 0 unchanged (2 created without a password)',
    ]);
    t.same(await counts(third), { users: 2514, clients: 5 });
  });
}
