import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t, { type Test } from 'tap';
import { createPasswordHasher } from '../../src/accounts/password-hasher.ts';
import { ClientService } from '../../src/clients/client-service.ts';
import { describeClientProblem, loadDeclarativeFile, type ClientProblem } from '../../src/config/index.ts';
import { ClientDefinitionError, ConfigError } from '../../src/errors/index.ts';
import { cliSandbox, migrateSandbox } from '../cli/cli-sandbox.ts';
import { openTestDb } from '../helpers/open-test-db.ts';
import { clientsAddArgv, ROWS, usesSecret, type Definition, type Row } from './client-table.ts';

// One rulebook for clients: every row of the table goes through the setup
// file loader, `latchkey clients add` (in process, on a real database) and
// the client service, in development and in production. All three must
// accept it, or all three refuse it with the same message, naming the same
// field (the file adds its name and the client's place in the file).

const sandbox = await cliSandbox(t);
await migrateSandbox(sandbox);
const db = await openTestDb(t);
const hasher = createPasswordHasher();
const digestKey = randomBytes(32);
const CHOSEN_SECRET = 'a-chosen-secret-for-the-file';
const ENVIRONMENTS = ['development', 'production'] as const;
type Environment = typeof ENVIRONMENTS[number];

/** A refusal as `field: problem`, without the edge's own prefix; undefined when accepted. */
type Answer = string | undefined;

/** The client as the setup file declares it: with a chosen secret where the CLI would generate one. */
function fileClient(client: Definition): Definition {
  return usesSecret(client) ? { ...client, client_secret: CHOSEN_SECRET } : client;
}

async function fromFile(t: Test, client: Definition, environment: Environment, name: string): Promise<Answer> {
  const file = path.join(sandbox.dir, `${name}.yaml`);
  await writeFile(file, JSON.stringify({ realms: [{ name: 'default', clients: [client] }] }));
  try {
    await loadDeclarativeFile(file, { env: {}, nodeEnv: environment });
    return undefined;
  } catch (error) {
    t.type(error, ConfigError, 'the file is refused with a ConfigError');
    const prefix = `${file}: realms[0].clients[0].`;
    const { message } = error as Error;
    t.ok(message.startsWith(prefix), `in the file's form: ${message}`);
    return message.slice(prefix.length);
  }
}

async function fromCli(t: Test, client: Definition, environment: Environment): Promise<Answer> {
  const { status, ...output } = await sandbox.run(clientsAddArgv(client, environment), { env: { NODE_ENV: environment } });
  if (status === 0) {
    t.match(output.stdout, /^Created client /, 'created');
    t.equal(/client_secret: \S+/.test(output.stdout), usesSecret(client), 'a secret is generated exactly when the auth method uses one');
    return undefined;
  }
  t.equal(status, 2, `bad input: exit status 2 (${output.stderr.trim()})`);
  t.equal(output.stdout, '', 'nothing on stdout');
  const lines = output.stderr.split('\n').filter(Boolean);
  t.equal(lines.length, 1, 'one line');
  t.match(lines[0], /^latchkey: /);
  return lines[0]?.replace(/^latchkey: /, '');
}

async function fromService(t: Test, client: Definition, environment: Environment): Promise<Answer> {
  const clients = new ClientService(db, hasher, digestKey, { production: environment === 'production' });
  try {
    t.equal(await clients.put(environment, fileClient(client)), 'created');
    return undefined;
  } catch (error) {
    t.type(error, ClientDefinitionError, 'the service refuses with a ClientDefinitionError');
    const problems = (error as ClientDefinitionError<ClientProblem>).problems;
    return problems[0] && describeClientProblem(problems[0]);
  }
}

function expected(row: Row, environment: Environment): Row['refused'] {
  return row.refused && (!row.productionOnly || environment === 'production') ? row.refused : undefined;
}

for (const environment of ENVIRONMENTS) {
  t.test(`NODE_ENV=${environment}`, async (t) => {
    for (const [i, row] of ROWS.entries()) {
      await t.test(row.title, async (t) => {
        const file = await fromFile(t, fileClient(row.client), environment, `${environment}-${i}`);
        const cli = await fromCli(t, row.client, environment);
        const service = await fromService(t, row.client, environment);
        const refusal = expected(row, environment);
        if (!refusal) {
          t.equal(file, undefined, 'the file accepts it');
          t.equal(cli, undefined, 'the CLI accepts it');
          t.equal(service, undefined, 'the service accepts it');
          return;
        }
        const [field, problem] = refusal;
        t.ok(file?.startsWith(`${field}: `), `the file names ${field}: ${file}`);
        t.match(file, problem, 'and says why');
        t.equal(cli, file, 'the CLI gives the same answer');
        t.equal(service, file, 'the service gives the same answer');
        t.notOk(file?.includes(CHOSEN_SECRET), 'no secret in the message');
      });
    }
  });
}

t.test('the CLI stored exactly the accepted rows, with the defaults the file fills in', async (t) => {
  for (const environment of ENVIRONMENTS) {
    const result = await sandbox.run(['clients', 'list', '--realm', environment, '--json'], { env: { NODE_ENV: environment } });
    t.equal(result.status, 0);
    const listed = JSON.parse(result.stdout) as Record<string, unknown>[];
    const accepted = ROWS.filter((row) => !expected(row, environment)).map((row) => row.client.client_id).sort();
    t.same(listed.map((c) => c['client_id']), accepted, `${environment}: the accepted rows`);
    t.match(listed.find((c) => c['client_id'] === 'signer'), { token_endpoint_auth_method: 'private_key_jwt', response_types: [], redirect_uris: [] });
    t.match(listed.find((c) => c['client_id'] === 'spa'), { application_type: 'web', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] });
  }
});

// Fields the CLI has no flag for: the file and the service still agree.
const FILE_ONLY: Row[] = [
  { title: 'per-client lifetimes', client: { client_id: 'short', client_secret: 's', grant_types: ['client_credentials'], ttl: { access_token: 180, client_credentials: 60 }, contacts: ['ops@example.test'] } },
  { title: 'a realm-wide lifetime on a client', client: { client_id: 'ttl', client_secret: 's', grant_types: ['client_credentials'], ttl: { session: 60 } }, refused: ['ttl.session', /realm/] },
  { title: 'a code lifetime over 10 minutes', client: { client_id: 'ttl2', client_secret: 's', ttl: { authorization_code: 601 }, redirect_uris: ['https://a.example.test/cb'] }, refused: ['ttl.authorization_code', /600/] },
  { title: 'a contact that is no address', client: { client_id: 'who', client_secret: 's', grant_types: ['client_credentials'], contacts: ['Jane'] }, refused: ['contacts[0]', /email/] },
  { title: 'private_key_jwt, inferred from jwks', client: { client_id: 'inline-keys', grant_types: ['client_credentials'], jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] } } },
  { title: 'a key without its modulus', client: { client_id: 'no-n', grant_types: ['client_credentials'], jwks: { keys: [{ kty: 'RSA', e: 'AQAB' }] } }, refused: ['jwks.keys[0].n', /required for RSA/] },
  { title: 'a private key in jwks', client: { client_id: 'leaky', grant_types: ['client_credentials'], jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'secret-part' }] } }, refused: ['jwks.keys[0].d', /private/] },
  { title: 'both jwks and jwks_uri', client: { client_id: 'both', grant_types: ['client_credentials'], jwks_uri: 'https://k.example.test/jwks', jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'x' }] } }, refused: ['jwks', /not both/] },
  { title: 'a secret that is not printable ASCII', client: { client_id: 'umlaut', client_secret: 'gëheim-secret', grant_types: ['client_credentials'] }, refused: ['client_secret', /ASCII/] },
  { title: 'a misspelt field', client: { client_id: 'typo', client_secret: 's', redirect_uri: ['https://a.example.test/cb'] }, refused: ['redirect_uri', /unknown property/] },
  { title: 'a flag that is not a boolean', client: { client_id: 'flag', client_secret: 's', redirect_uris: ['https://a.example.test/cb'], refresh_token_requires_offline_access: 'yes' }, refused: ['refresh_token_requires_offline_access', /true or false/] },
];

t.test('fields only the file (and later the admin API) can set', async (t) => {
  for (const [i, row] of FILE_ONLY.entries()) {
    const file = await fromFile(t, row.client, 'production', `file-only-${i}`);
    const clients = new ClientService(db, hasher, digestKey, { production: true });
    const service = await clients.put('file-only', row.client).then(() => undefined, (error: ClientDefinitionError<ClientProblem>) => describeClientProblem(error.problems[0]!));
    t.equal(service, file, `${row.title}: the same answer`);
    if (row.refused) t.match(file, new RegExp(`^${row.refused[0].replace(/[[\].]/g, '\\$&')}: .*${row.refused[1].source}`), `${row.title}: ${file}`);
    else t.equal(file, undefined, `${row.title}: accepted`);
    t.notMatch(String(file), /gëheim|secret-part/, 'no secret in the message');
  }
});

t.test('a generated secret: none may be given, and the auth method must use one', async (t) => {
  const clients = new ClientService(db, hasher, digestKey, { production: false });
  const base = { client_id: 'generated', grant_types: ['client_credentials'] };
  await t.rejects(clients.addWithGeneratedSecret('generated', { ...base, client_secret: 'chosen-one' }), { name: 'ClientDefinitionError', message: /^client_secret: not accepted here/ });
  await t.rejects(clients.addWithGeneratedSecret('generated', { ...base, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://k.example.test/jwks' }), { message: /^token_endpoint_auth_method: a generated secret is used only with/ });
  const secret = await clients.addWithGeneratedSecret('generated', base);
  t.ok(secret.length >= 43, 'a generated secret');
  t.match((await clients.find('generated', 'generated'))?.metadata, { token_endpoint_auth_method: 'client_secret_basic', response_types: [] }, 'stored with the defaults');
});
