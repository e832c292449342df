import { sql } from 'kysely';
import t from 'tap';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { demoSetupDocument, parseSetup, SECRETS } from '../helpers/setups.ts';
import { assertNoLeak, tokenRequest } from '../helpers/token-requests.ts';

// A failure the engine does not recognise is answered by oidc-provider
// itself as 500 server_error (lib/shared/error_handler.js), which only emits
// an event: Latchkey logs it (engine-steps.ts logEngineServerErrors), with
// the request's logger, so that a bug leaves a trace. Provoked here by a
// schema the code does not expect (a table gone): a bug, not an outage.
const ORDERS = 'https://orders.example.com';
const document = demoSetupDocument();
document.realms[0]!['resource_servers'] = [{ identifier: ORDERS, scopes: ['api:read'] }];
const { issuer, latchkey, logs } = await startLatchkey(t, { setup: parseSetup(document), logLevel: 'info' });

t.test('an engine server_error is answered without detail and logged with its cause', async (t) => {
  // Never looked up yet, so the lookup reaches the database.
  await sql`drop table resource_servers`.execute(latchkey.services.database.db);
  const before = logs.length;
  const response = await tokenRequest(issuer, { grant_type: 'client_credentials', scope: 'api:read', resource: ORDERS }, { basic: ['svc', SECRETS.svc] });
  t.equal(response.status, 500);
  t.same(response.json, { error: 'server_error', error_description: 'oops! something went wrong' }, 'no detail in the answer');
  const logged = logs.slice(before).join('');
  t.match(logged, /engine answered server_error/, 'logged');
  t.match(logged, /resource_servers/, 'with its cause');
  t.match(logged, /"route":"token"/, 'and the engine route');
  assertNoLeak(t, logged, [SECRETS.svc], 'the log');
});
