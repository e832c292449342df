import { readFile } from 'node:fs/promises';
import path from 'node:path';
import newman, { type NewmanRunOptions, type NewmanRunSummary } from 'newman';
import t from 'tap';
import { loadDeclarativeFile } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors/index.ts';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';

// Issue 11: the Postman collections of examples/postman, one per realm layout,
// run with newman (Postman's own runner) against a Latchkey that loaded the
// example setup file the environments are written for, as a user would run
// them after `LATCHKEY_CONFIG=examples/postman/latchkey.yaml npm start`.

const EXAMPLES = path.join(import.meta.dirname, '../../examples/postman');
const LAYOUTS = ['standard', 'keycloak', 'okta'] as const;
type Layout = typeof LAYOUTS[number];

/**
 * The pm.test assertions each collection ran when it was written: a run
 * with fewer lost some (a script that throws skips the rest of its own), so
 * an emptied or broken collection cannot pass. Raise them when adding tests.
 */
const MIN_ASSERTIONS: Record<Layout, number> = { standard: 41, keycloak: 49, okta: 47 };

/** Where each example realm lives under the base URL (examples/postman/latchkey.yaml). */
const REALM_PATHS: Record<Layout, string> = { standard: '', keycloak: '/auth/realms/ifs', okta: '/oauth2/default' };

interface PostmanEnvironment {
  name: string;
  values: Array<{ key: string; value: string; type?: string; enabled?: boolean }>;
}

const readJson = async (file: string) => JSON.parse(await readFile(path.join(EXAMPLES, file), 'utf8'));
const collectionOf = async (layout: Layout) => await readJson(`latchkey-${layout}.postman_collection.json`) as { item: unknown[] };

/** The layout's environment file as Postman would import it, with `changes` made as a user edits values. */
async function environmentOf(layout: Layout, changes: Record<string, string>): Promise<PostmanEnvironment> {
  const environment = await readJson(`latchkey-${layout}.postman_environment.json`) as PostmanEnvironment;
  for (const [key, value] of Object.entries(changes)) {
    const entry = environment.values.find((item) => item.key === key);
    if (!entry) throw new Error(`${environment.name} has no ${key}`);
    entry.value = value;
  }
  return environment;
}

function runCollection(collection: object, environment: PostmanEnvironment): Promise<NewmanRunSummary> {
  return new Promise((resolve, reject) => {
    // A hung request fails its own checks within 10 s rather than the whole file at tap's timeout.
    const options: NewmanRunOptions = {
      collection: collection as NewmanRunOptions['collection'],
      environment: environment as NewmanRunOptions['environment'],
      reporters: [],
      timeoutRequest: 10_000,
    };
    newman.run(options, (error, summary) => {
      if (error) reject(error);
      else resolve(summary);
    });
  });
}

/** "Request › test: message" for each failure, for a failing run's report. */
const describeFailures = (summary: NewmanRunSummary) => summary.run.failures.map(({ error, source }) =>
  `${source?.name ?? '(collection)'} › ${(error as { test?: string }).test ?? error.name}: ${error.message}`);

const setup = await loadDeclarativeFile(path.join(EXAMPLES, 'latchkey.yaml'), { env: {}, nodeEnv: 'test' });
const { listening: baseUrl } = await startLatchkey(t, { setup, logLevel: 'silent' });

for (const layout of LAYOUTS) {
  t.test(`the ${layout} collection passes against the example setup`, async (t) => {
    const collection = await collectionOf(layout);
    const summary = await runCollection(collection, await environmentOf(layout, { baseUrl }));

    t.same(describeFailures(summary), [], 'no failed assertion, script error or request error');
    const { assertions, requests } = summary.run.stats;
    const ran = assertions.total ?? 0;
    t.ok(ran >= MIN_ASSERTIONS[layout], `${ran} assertions ran (at least ${MIN_ASSERTIONS[layout]})`);
    t.equal(assertions.failed, 0, 'none failed');
    t.equal(requests.total, collection.item.length, 'every request was sent');
    const untested = summary.run.executions.filter((execution) => !execution.assertions?.length).map((execution) => execution.item.name);
    t.same(untested, [], 'every request has assertions');
    // The chaining happened, in the realm the environment names.
    t.equal(summary.environment.get('issuer'), `${baseUrl}${REALM_PATHS[layout]}`, 'the issuer the collection saved');
  });
}

t.test('a collection sent to the wrong paths fails, so the checks above can fail', async (t) => {
  const summary = await runCollection(await collectionOf('keycloak'), await environmentOf('keycloak', { baseUrl, pathPrefix: '' }));
  t.ok(summary.run.failures.length > 0, `${summary.run.failures.length} failures`);
  t.equal(summary.run.executions[0]?.response?.code, 404, 'the realm is under /auth');
});

t.test('the example setup is refused in production: its secrets are published', async (t) => {
  await t.rejects(loadDeclarativeFile(path.join(EXAMPLES, 'latchkey.yaml'), { env: {}, nodeEnv: 'production' }), ConfigError);
});
