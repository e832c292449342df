import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { freePort } from '../helpers/latchkey-under-test.ts';
import { waitFor } from '../helpers/waiting.ts';

// The package as users get it (issue 14): `npm pack` builds dist/ (prepack),
// the tarball carries JavaScript and declarations but no TypeScript source,
// and a project that installs it with its runtime dependencies only can
// start Latchkey through the library entry point and run `npx latchkey`.
// Installed from npm's cache (filled by the project's own install), so no
// network is needed.

const run = promisify(execFile);
// Packing, three installs (one from git, which installs the devDependencies to build) and four servers: minutes, not tap's default two.
t.setTimeout(900_000);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const work = await mkdtemp(path.join(os.tmpdir(), 'latchkey-package-'));
t.teardown(() => rm(work, { recursive: true, force: true }));

const packed = await run(NPM, ['pack', '--json', '--pack-destination', work], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
const [pack] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];
const files = pack!.files.map((file) => file.path);

t.test('the tarball: compiled JavaScript with declarations, no TypeScript source, no tests', async (t) => {
  t.ok(files.includes('dist/src/library.js') && files.includes('dist/src/library.d.ts'), 'the library entry point and its types');
  t.ok(files.includes('dist/src/cli/main.js'), 'the CLI');
  t.ok(files.some((file) => /^dist\/migrations\/.+\.js$/.test(file)), 'the migrations');
  t.ok(files.includes('dist/src/http/assets/latchkey.css'), 'the pages\' stylesheet');
  t.same(files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts')), [], 'no .ts source');
  t.same(files.filter((file) => /^(test|bench|examples|keys)\//.test(file)), [], 'no tests, benchmarks or keys');
  t.comment(`tarball ${Math.round(pack!.size / 1024)} kB, unpacked ${Math.round(pack!.unpackedSize / 1024)} kB, ${files.length} files`);
});

t.test('installed with its runtime dependencies only: the library starts a Latchkey, npx latchkey runs', async (t) => {
  const project = path.join(work, 'project');
  await run('mkdir', ['-p', project]);
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true }));
  await run(NPM, ['install', path.join(work, pack!.filename), '--prefer-offline', '--omit=dev', '--no-audit', '--no-fund'], { cwd: project, timeout: 300_000 });
  const du = await run('du', ['-sk', path.join(project, 'node_modules')]);
  t.comment(`installed: ${Math.round(Number(du.stdout.split('\t')[0]) / 1024)} MB in node_modules`);

  await writeFile(path.join(project, 'smoke.mjs'), [
    "import { startLatchkey } from 'latchkey';",
    "const setup = { realms: [{ name: 'default', clients: [{ client_id: 'svc', client_secret: 'svc-secret-for-the-package-test', token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], post_logout_redirect_uris: [], scope: 'api:read' }] }] };",
    'const idp = await startLatchkey({ setup });',
    "const answer = await fetch(`${idp.issuer}/token`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from('svc:svc-secret-for-the-package-test').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&scope=api:read' });",
    'console.log(JSON.stringify({ status: answer.status, body: await answer.json(), node: process.versions.node }));',
    'await idp.stop();',
    '',
  ].join('\n'));
  // This project's Node 24 (the test runs on it), as a user's Node would run the package: from node_modules, no type stripping.
  const smoke = await run(process.execPath, ['smoke.mjs'], { cwd: project, timeout: 120_000, env: { ...process.env, DATABASE_URL: '' } });
  const answer = JSON.parse(smoke.stdout.trim().split('\n').at(-1)!) as { status: number; body: Record<string, unknown> };
  t.equal(answer.status, 200, 'a token from the installed package');
  t.equal(answer.body['token_type'], 'Bearer');

  // The oldest Node the package claims (engines: >=22.12), fetched through npm like any package.
  // Its environment a user's: without this runner's NODE_OPTIONS, which load tap's hooks made for the Node it runs on.
  const userEnv = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? work };
  const oldest = await run(NPM, ['exec', '--yes', '--prefer-offline', '--package=node@22.12.0', '--', 'node', 'smoke.mjs'], { cwd: project, timeout: 300_000, env: userEnv });
  const onOldest = JSON.parse(oldest.stdout.trim().split('\n').at(-1)!) as { status: number; node: string };
  t.equal(onOldest.status, 200, `a token from the installed package on Node ${onOldest.node}`);
  t.equal(onOldest.node, '22.12.0');

  const PATH = `${path.dirname(process.execPath)}:${process.env['PATH']}`;
  const help = await run(path.join(project, 'node_modules', '.bin', 'latchkey'), ['--help'], { cwd: project, timeout: 60_000, env: { ...process.env, PATH } });
  t.match(help.stdout, /Usage: latchkey <command>/, 'the CLI runs from the package');

  // The CI pipeline's background step: npx latchkey serve --config FILE --port N.
  await writeFile(path.join(project, 'realm.yaml'), 'realms:\n  - name: default\n    clients:\n      - client_id: svc\n        client_secret: ${SVC_SECRET}\n        grant_types: [client_credentials]\n        response_types: []\n        redirect_uris: []\n');
  const port = await freePort();
  const server = spawn('npx', ['latchkey', 'serve', '--config', 'realm.yaml', '--port', String(port)], {
    cwd: project, env: { ...process.env, PATH, DATABASE_URL: '', SVC_SECRET: 'svc-secret-for-the-package-test' }, stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own, as a CI step's: npm exec does not pass SIGTERM on to the command it runs.
    detached: true,
  });
  let printed = '';
  server.stdout.setEncoding('utf8').on('data', (chunk: string) => { printed += chunk; });
  server.stderr.setEncoding('utf8').on('data', (chunk: string) => { printed += chunk; });
  const exited = new Promise<number | string | null>((resolve) => server.once('exit', (code, signal) => resolve(code ?? signal)));
  const group = (signal: NodeJS.Signals) => { try { process.kill(-server.pid!, signal); } catch { /* already gone */ } };
  t.teardown(() => group('SIGKILL'));
  await waitFor(() => printed.includes('discovery'), { timeoutMs: 120_000, giveUp: () => server.exitCode !== null });
  t.match(printed, new RegExp(`issuer\\s+http://127\\.0\\.0\\.1:${port}`), `npx latchkey serve prints its issuer${server.exitCode === null ? '' : `; it exited: ${printed.slice(-500)}`}`);
  const token = await fetch(`http://127.0.0.1:${port}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('svc:svc-secret-for-the-package-test').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  }).catch(() => undefined);
  t.equal(token?.status, 200, 'and serves the file\'s client');
  // The runner ending the step signals the group: npm and, under it, the server, which stops and frees its port.
  group('SIGTERM');
  await exited;
  const stopped = await waitFor(() => fetch(`http://127.0.0.1:${port}/healthz`).then(() => false, () => true), { timeoutMs: 30_000 });
  t.ok(stopped, 'SIGTERM to the step\'s process group stops the server');
});

t.test('installed from a git URL: npm builds its JavaScript (prepare) and the library starts', async (t) => {
  // The repository's committed HEAD, as `npm install github:owner/latchkey#<commit>` would fetch it.
  const head = (await run('git', ['rev-parse', 'HEAD'], { cwd: ROOT })).stdout.trim();
  const project = path.join(work, 'from-git');
  await run('mkdir', ['-p', project]);
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true }));
  await run(NPM, ['install', `git+file://${ROOT}#${head}`, '--prefer-offline', '--omit=dev', '--no-audit', '--no-fund'], { cwd: project, timeout: 600_000 });
  await writeFile(path.join(project, 'start.mjs'), [
    "import { startLatchkey } from 'latchkey';",
    'const idp = await startLatchkey();',
    'const discovery = await fetch(idp.discoveryUrl).then((answer) => answer.json());',
    'console.log(JSON.stringify({ issuer: discovery.issuer === idp.issuer }));',
    'await idp.stop();',
    '',
  ].join('\n'));
  const started = await run(process.execPath, ['start.mjs'], { cwd: project, timeout: 120_000, env: { ...process.env, DATABASE_URL: '' } });
  t.same(JSON.parse(started.stdout.trim().split('\n').at(-1)!), { issuer: true }, 'the library from a git install serves discovery');
});
