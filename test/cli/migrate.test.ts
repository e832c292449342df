import { readdir } from 'node:fs/promises';
import t from 'tap';
import { cliSandbox, type CliResult } from './cli-sandbox.ts';

// migrate status → latest → status → down → status → latest, on a fresh
// database (embedded, or a new one on the server under DATABASE_URL).
const sandbox = await cliSandbox(t);
const migrations = (await readdir(new URL('../../migrations', import.meta.url))).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, '')).sort();
const last = migrations.at(-1)!;

function statusLines(result: CliResult): Map<string, string> {
  return new Map(result.stdout.trim().split('\n').map((line) => {
    const [name, state] = line.trim().split(/\s+/);
    return [name!, state!];
  }));
}

const isTimestamp = (value: string | undefined) => typeof value === 'string' && !Number.isNaN(Date.parse(value)) && /^\d{4}-\d\d-\d\dT/.test(value);

t.test('status on a fresh database: every migration pending', async (t) => {
  const result = await sandbox.run(['migrate', 'status']);
  t.equal(result.status, 0, result.stderr);
  t.same([...statusLines(result)], migrations.map((m) => [m, 'pending']));
});

t.test('latest applies them all; status then shows when each ran', async (t) => {
  const applied = await sandbox.run(['migrate', 'latest']);
  t.equal(applied.status, 0, applied.stderr);
  for (const name of migrations) t.match(applied.stdout, new RegExp(`applied\\s+${name}`), `applied ${name}`);

  const status = statusLines(await sandbox.run(['migrate', 'status']));
  t.same([...status.keys()], migrations);
  for (const name of migrations) t.ok(isTimestamp(status.get(name)), `${name} executed at ${status.get(name)}`);
});

t.test('latest again has nothing to do', async (t) => {
  const again = await sandbox.run(['migrate']);
  t.equal(again.status, 0, again.stderr);
  t.match(again.stdout, /up to date/);
  t.notMatch(again.stdout, /applied/);
});

t.test('down reverts the last migration only', async (t) => {
  const down = await sandbox.run(['migrate', 'down']);
  t.equal(down.status, 0, down.stderr);
  t.match(down.stdout, new RegExp(`reverted\\s+${last}`));
  const status = statusLines(await sandbox.run(['migrate', 'status']));
  t.equal(status.get(last), 'pending', `${last} pending again`);
  for (const name of migrations.slice(0, -1)) t.ok(isTimestamp(status.get(name)), `${name} still applied`);
});

t.test('latest re-applies exactly what down reverted', async (t) => {
  const latest = await sandbox.run(['migrate', 'latest']);
  t.equal(latest.status, 0, latest.stderr);
  t.same(latest.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/)), [['applied', last]]);
  const status = statusLines(await sandbox.run(['migrate', 'status']));
  for (const name of migrations) t.ok(isTimestamp(status.get(name)), `${name} applied`);
});

t.test('the schema works after the round trip: a user can be added and listed', async (t) => {
  const added = await sandbox.run(['users', 'add', 'roundtrip', '--password-stdin'], { stdin: 'round-trip-password\n' });
  t.equal(added.status, 0, added.stderr);
  const listed = await sandbox.run(['users', 'list', '--json']);
  t.equal(listed.status, 0, listed.stderr);
  t.same(JSON.parse(listed.stdout).map((u: { username: string }) => u.username), ['roundtrip']);
});
