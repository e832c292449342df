import parsePrometheusTextFormat, { type Family } from 'parse-prometheus-text-format';
import t from 'tap';
import { readEnv } from '../../src/config/index.ts';
import { waitFor } from '../helpers/waiting.ts';
import { SECRETS } from '../helpers/setups.ts';
import { postForm } from '../helpers/token-requests.ts';
import { ADMIN_SECRETS, adminSetupDocument, startAdmin, type AdminUnderTest } from './admin-setup.ts';

// Prometheus metrics at the admin listener's /metrics (issue 12, part 7),
// read with a Prometheus text-format parser from npm: known traffic on both
// listeners moves the counters by exactly what it should, no label value is
// a client id, a token or a raw path, every family has HELP and TYPE, and
// LATCHKEY_METRICS=off collects nothing and answers 404.
const PASSWORD_CLIENT = ['metrics-script', 'metrics-script-secret-for-tests'] as const;

function documentWithPasswordClient() {
  const document = adminSetupDocument();
  document.realms[0]!.clients!.push({
    client_id: PASSWORD_CLIENT[0], client_secret: PASSWORD_CLIENT[1], token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['password'], response_types: [], redirect_uris: [], post_logout_redirect_uris: [], scope: 'openid api:read',
  });
  return document;
}

/** The realm's endpoints, from its discovery document. */
async function endpointsOf(admin: AdminUnderTest) {
  const discovery = await (await fetch(`${admin.issuer}/.well-known/openid-configuration`)).json() as Record<string, string>;
  return { token: discovery['token_endpoint']!, introspection: discovery['introspection_endpoint']! };
}

async function scrape(admin: AdminUnderTest, token: string): Promise<{ text: string; families: Family[] }> {
  const answer = await admin.call('GET', '/metrics', { token });
  if (answer.status !== 200) throw new Error(`/metrics answered ${answer.status}`);
  return { text: answer.text, families: parsePrometheusTextFormat(answer.text) };
}

/** The sum of a counter's or gauge's samples whose labels include `labels` (0 when there are none yet). */
function valueOf(families: Family[], name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  return (family?.metrics ?? [])
    .filter((sample) => Object.entries(labels).every(([key, value]) => sample.labels?.[key] === value))
    .reduce((sum, sample) => sum + Number(sample.value ?? 0), 0);
}

t.test('counters move by exactly the traffic, on both listeners', async (t) => {
  const admin = await startAdmin(t, { document: documentWithPasswordClient(), env: { LATCHKEY_SWEEP_INTERVAL_SECONDS: '1' } });
  const endpoints = await endpointsOf(admin);
  const scraper = await admin.token('admin-metrics', ADMIN_SECRETS.metrics, 'admin:metrics');
  const before = await scrape(admin, scraper);

  // Known traffic: a client-credentials token; its introspection (active) and a made-up one's (inactive);
  // a password grant that succeeds and one that fails; a path no route knows; an admin route.
  const issued = await postForm(endpoints.token, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['svc', SECRETS.svc] });
  t.equal(issued.status, 200);
  const accessToken = String(issued.json?.['access_token']);
  const active = await postForm(endpoints.introspection, { token: accessToken }, { basic: ['rs', SECRETS.rs] });
  t.equal(active.json?.['active'], true);
  const madeUp = 'x'.repeat(43);
  const inactive = await postForm(endpoints.introspection, { token: madeUp }, { basic: ['rs', SECRETS.rs] });
  t.equal(inactive.json?.['active'], false);
  const signedIn = await postForm(endpoints.token, { grant_type: 'password', username: 'alice', password: SECRETS.alice, scope: 'openid api:read' }, { basic: PASSWORD_CLIENT });
  t.equal(signedIn.status, 200);
  t.ok(signedIn.json?.['id_token'], 'an ID token with it');
  const refused = await postForm(endpoints.token, { grant_type: 'password', username: 'alice', password: 'not-her-password', scope: 'openid' }, { basic: PASSWORD_CLIENT });
  t.equal(refused.status, 400);
  const idLikeSegment = 'a8F3kQ9zLm2Xv7Rp4TnW';
  const missing = await fetch(`${admin.listening}/no-such-thing/${idLikeSegment}`);
  t.equal(missing.status, 404);
  const realms = await admin.call('GET', '/v1/realms', { token: admin.tokens.readOnly });
  t.equal(realms.status, 200);

  const after = await scrape(admin, scraper);
  const delta = (name: string, labels: Record<string, string> = {}) => valueOf(after.families, name, labels) - valueOf(before.families, name, labels);

  t.equal(delta('latchkey_tokens_issued_total', { realm: 'default', grant_type: 'client_credentials', kind: 'client_credentials', format: 'opaque' }), 1, 'one client-credentials token');
  t.equal(delta('latchkey_tokens_issued_total', { grant_type: 'password', kind: 'access_token', format: 'opaque' }), 1, 'one access token by the password grant');
  t.equal(delta('latchkey_tokens_issued_total', { grant_type: 'password', kind: 'id_token', format: 'jwt' }), 1, 'and its ID token');
  t.equal(delta('latchkey_tokens_issued_total', { kind: 'refresh_token' }), 0, 'no refresh token (the client has no refresh_token grant)');
  t.equal(delta('latchkey_tokens_issued_total'), 3, 'nothing else');
  t.equal(delta('latchkey_introspections_total', { realm: 'default', result: 'active' }), 1, 'one active introspection');
  t.equal(delta('latchkey_introspections_total', { realm: 'default', result: 'inactive' }), 1, 'one inactive introspection');
  t.equal(delta('latchkey_sign_in_failures_total', { realm: 'default' }), 1, 'one sign-in failure');
  t.equal(delta('latchkey_brakes_engaged_total'), 0, 'no brake engaged');

  const publicRequests = (labels: Record<string, string>) => delta('latchkey_http_requests_total', { listener: 'public', ...labels });
  t.equal(publicRequests({ route: '/token', method: 'POST', code: '200' }), 2, 'two tokens answered 200');
  t.equal(publicRequests({ route: '/token', method: 'POST', code: '400' }), 1, 'one refused at /token');
  t.equal(publicRequests({ route: '/token/introspection', method: 'POST', code: '200' }), 2, 'two introspections');
  t.equal(publicRequests({ route: 'unmatched', method: 'GET', code: '404' }), 1, 'the unknown path, as unmatched');
  t.equal(publicRequests({}), 6, 'and nothing else on the public listener');
  t.equal(delta('latchkey_http_requests_total', { listener: 'admin', route: '/v1/realms', method: 'GET', code: '200' }), 1, 'the admin route, by its template');
  t.equal(delta('latchkey_http_requests_total', { listener: 'admin', route: '/metrics', method: 'GET', code: '200' }), 1, 'the scrape before');
  t.equal(delta('latchkey_http_requests_total', { listener: 'admin' }), 2, 'and nothing else on the admin listener');

  t.test('every family has HELP and TYPE; names follow the conventions', async (t) => {
    t.ok(after.families.length > 20, `${after.families.length} families`);
    for (const family of after.families) {
      t.ok(after.text.includes(`# HELP ${family.name} `) && family.help.length > 0, `${family.name}: HELP`);
      t.ok(after.text.includes(`# TYPE ${family.name} `) && family.type !== 'UNTYPED', `${family.name}: TYPE ${family.type}`);
      if (family.type === 'COUNTER') t.match(family.name, /_total$/, `${family.name}: a counter ends in _total`);
    }
    const ours = after.families.filter((family) => family.name.startsWith('latchkey_')).map((family) => family.name);
    for (const name of [
      'latchkey_http_requests_total', 'latchkey_http_request_duration_seconds', 'latchkey_tokens_issued_total', 'latchkey_introspections_total',
      'latchkey_sign_in_failures_total', 'latchkey_brakes_engaged_total', 'latchkey_database_connections', 'latchkey_database_waiting_requests',
      'latchkey_database_errors_total', 'latchkey_sweeper_runs_total', 'latchkey_sweeper_deleted_rows_total', 'latchkey_sweeper_backlog_rows',
    ]) t.ok(ours.includes(name), name);
    const histogram = after.families.find((family) => family.name === 'latchkey_http_request_duration_seconds')!;
    t.equal(histogram.type, 'HISTOGRAM');
    // The parser flattens a histogram's labelled series into one (it keeps neither their labels nor count and sum): read from the text.
    const tokenBuckets = [...after.text.matchAll(/^latchkey_http_request_duration_seconds_bucket\{listener="public",route="\/token",method="POST",le="([^"]+)"\} (\d+)$/gm)];
    t.equal(tokenBuckets.at(-1)?.[1], '+Inf', 'latency buckets per route template, up to +Inf');
    t.equal(Number(tokenBuckets.at(-1)?.[2]), valueOf(after.families, 'latchkey_http_requests_total', { listener: 'public', route: '/token', method: 'POST' }), '+Inf holds every request of the route');
    t.ok(tokenBuckets.every((bucket, i) => i === 0 || Number(bucket[2]) >= Number(tokenBuckets[i - 1]![2])), 'cumulative');
    t.ok(after.families.some((family) => family.name === 'nodejs_eventloop_lag_p99_seconds'), 'event-loop delay');
    t.ok(after.families.some((family) => family.name === 'process_resident_memory_bytes'), 'process memory');
    t.ok(after.families.some((family) => family.name === 'process_cpu_seconds_total'), 'process CPU');
  });

  t.test('no label value is a client id, a token or a path with an id in it', async (t) => {
    const values = after.families.flatMap((family) => family.metrics.flatMap((sample) => Object.values(sample.labels ?? {})));
    t.ok(values.length > 50, `${values.length} label values`);
    const forbidden = ['svc', 'rs', 'admin-full', 'admin-ro', 'admin-metrics', PASSWORD_CLIENT[0], 'alice', accessToken, madeUp, scraper, admin.tokens.readOnly];
    for (const value of values) {
      if (forbidden.includes(value) || value.includes(idLikeSegment) || value.includes('no-such-thing')) t.fail(`label value ${value}`);
    }
    t.notOk(after.text.includes(accessToken) || after.text.includes(idLikeSegment) || after.text.includes(SECRETS.svc), 'nowhere in the text either');
    t.notOk(after.families.some((family) => family.metrics.some((sample) => sample.labels && 'client_id' in sample.labels)), 'no client_id label by default');
  });

  t.test('the database and the sweeper', async (t) => {
    const kind = admin.latchkey.services.database.kind;
    t.equal(valueOf(after.families, 'latchkey_database_info', { kind }), 1, `database ${kind}`);
    const inUse = valueOf(after.families, 'latchkey_database_connections', { state: 'in_use' });
    const idle = valueOf(after.families, 'latchkey_database_connections', { state: 'idle' });
    if (kind === 'pglite') t.equal(inUse + idle, 1, 'the embedded database has one connection');
    else t.ok(inUse + idle >= 1, `the pool holds ${inUse + idle} connection(s)`);
    t.ok(valueOf(after.families, 'latchkey_database_waiting_requests') >= 0, 'waiting requests');
    t.equal(valueOf(after.families, 'latchkey_database_errors_total'), 0, 'no database error');
    // The sweeper runs every second here; read in-process, so that no scrape adds to the counters above.
    const swept = await waitFor(async () => valueOf(parsePrometheusTextFormat(await admin.latchkey.metrics!.exposition()), 'latchkey_sweeper_runs_total', { outcome: 'ok' }) >= 1);
    t.ok(swept, 'a sweep was counted');
  });

  t.test('a brake engaged, counted once per refusal', async (t) => {
    const start = await scrape(admin, scraper);
    // The client-authentication brake allows a (client, address) 10 failures a minute (src/rate-limits/client-auth-limiters.ts).
    const statuses: number[] = [];
    for (let i = 0; i < 12; i += 1) {
      statuses.push((await postForm(endpoints.token, { grant_type: 'client_credentials' }, { basic: ['metrics-no-such-client', 'wrong'] })).status);
    }
    t.same(statuses, [...Array<number>(10).fill(401), 429, 429]);
    const end = await scrape(admin, scraper);
    const moved = (name: string, labels: Record<string, string> = {}) => valueOf(end.families, name, labels) - valueOf(start.families, name, labels);
    t.equal(moved('latchkey_brakes_engaged_total', { brake: 'client_authentication' }), 2, 'two refusals by the brake');
    t.equal(moved('latchkey_brakes_engaged_total', { brake: 'sign_in' }), 0);
    t.equal(moved('latchkey_http_requests_total', { listener: 'public', route: '/token', code: '429' }), 2);
  });
});

t.test('the /metrics answer: text exposition format, no-store', async (t) => {
  const admin = await startAdmin(t);
  const answer = await admin.call('GET', '/metrics', { token: admin.tokens.readOnly });
  t.equal(answer.status, 200);
  t.equal(answer.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  t.equal(answer.headers.get('cache-control'), 'no-store');
  t.doesNotThrow(() => parsePrometheusTextFormat(answer.text), 'parses');
  const anonymous = await admin.call('GET', '/metrics');
  t.equal(anonymous.status, 401, 'a bearer token is needed');
  const scraper = await admin.token('admin-metrics', ADMIN_SECRETS.metrics, 'admin:metrics');
  const elsewhere = await admin.call('GET', '/v1/realms', { token: scraper });
  t.equal(elsewhere.status, 403, 'an admin:metrics token reads nothing else');
  t.equal(elsewhere.json?.code, 'insufficient_scope');
});

t.test('LATCHKEY_METRICS=off: nothing collected, /metrics answers 404', async (t) => {
  const admin = await startAdmin(t, { env: { LATCHKEY_METRICS: 'off' } });
  t.equal(admin.latchkey.metrics, undefined, 'no registry, no counting');
  await fetch(`${admin.listening}/no-such-thing`);
  const answer = await admin.call('GET', '/metrics', { token: admin.tokens.full });
  t.equal(answer.status, 404);
  t.match(answer.headers.get('content-type'), /^application\/problem\+json/);
  t.equal(answer.json?.status, 404);
  t.notMatch(answer.text, /latchkey_/, 'no metric in it');
  t.equal((await admin.call('GET', '/metrics')).status, 401, 'still behind a bearer token');
});

t.test('LATCHKEY_METRICS_CLIENT_LABELS=on: counts by client id', async (t) => {
  const admin = await startAdmin(t, { env: { LATCHKEY_METRICS_CLIENT_LABELS: 'on' } });
  const endpoints = await endpointsOf(admin);
  const before = await scrape(admin, admin.tokens.readOnly);
  await postForm(endpoints.token, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['svc', SECRETS.svc] });
  const after = await scrape(admin, admin.tokens.readOnly);
  const labels = { grant_type: 'client_credentials', client_id: 'svc' };
  t.equal(valueOf(after.families, 'latchkey_tokens_issued_total', labels) - valueOf(before.families, 'latchkey_tokens_issued_total', labels), 1);
});

t.test('the settings', async (t) => {
  t.same(readEnv({}).metrics, { clientLabels: false }, 'on by default, without client labels');
  t.equal(readEnv({ LATCHKEY_METRICS: 'off' }).metrics, undefined);
  t.equal(readEnv({ LATCHKEY_METRICS: 'OFF' }).metrics, undefined);
  t.same(readEnv({ LATCHKEY_METRICS_CLIENT_LABELS: 'on' }).metrics, { clientLabels: true });
  t.throws(() => readEnv({ LATCHKEY_METRICS: 'maybe' }), { message: /LATCHKEY_METRICS: must be on or off/ });
  t.throws(() => readEnv({ LATCHKEY_METRICS_CLIENT_LABELS: 'yes please' }), { message: /LATCHKEY_METRICS_CLIENT_LABELS: must be on or off/ });
});
