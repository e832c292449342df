import parsePrometheusTextFormat, { type Family } from 'parse-prometheus-text-format';
import t from 'tap';
import { ADMIN_SECRETS, startAdmin } from '../admin/admin-setup.ts';
import { proxiedDatabase } from '../helpers/proxied-database.ts';
import { SECRETS } from '../helpers/setups.ts';
import { tokenRequest } from '../helpers/token-requests.ts';
import { waitFor } from '../helpers/waiting.ts';

// A database outage in the metrics: statements that failed for it are
// counted as database errors, the 503s as such, and nothing that the
// outage refused is counted as issued. An outage needs a database server;
// in embedded mode the suite still uses the local PostgreSQL when there is one.
const proxied = await proxiedDatabase(t);
if (!proxied) {
  t.plan(0, 'no PostgreSQL server reachable to take down');
} else {
  const admin = await startAdmin(t, { databaseUrl: proxied.viaProxy });
  const scraper = await admin.token('admin-metrics', ADMIN_SECRETS.metrics, 'admin:metrics');
  const scrape = async () => parsePrometheusTextFormat((await admin.call('GET', '/metrics', { token: scraper })).text);
  const valueOf = (families: Family[], name: string, labels: Record<string, string> = {}) => (families.find((f) => f.name === name)?.metrics ?? [])
    .filter((sample) => Object.entries(labels).every(([key, value]) => sample.labels?.[key] === value))
    .reduce((sum, sample) => sum + Number(sample.value ?? 0), 0);
  const before = await scrape();

  t.test('an outage: its errors and its 503s counted, nothing issued', async (t) => {
    await proxied.proxy.cut();
    const refused = await tokenRequest(admin.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['svc', SECRETS.svc], deadlineMs: 15_000 });
    t.equal(refused.status, 503, 'a token request during the outage');
    await proxied.proxy.restore();
    const back = await waitFor(async () => (await admin.call('GET', '/metrics', { token: scraper })).status === 200, { timeoutMs: 30_000, intervalMs: 200 });
    t.ok(back, 'scraped again once the database is back');

    const after = await scrape();
    t.ok(valueOf(after, 'latchkey_database_errors_total') - valueOf(before, 'latchkey_database_errors_total') >= 1, 'the outage is in the database errors');
    t.equal(valueOf(after, 'latchkey_http_requests_total', { listener: 'public', route: '/token', code: '503' }) - valueOf(before, 'latchkey_http_requests_total', { listener: 'public', route: '/token', code: '503' }), 1, 'the 503, by route');
    t.equal(valueOf(after, 'latchkey_tokens_issued_total') - valueOf(before, 'latchkey_tokens_issued_total'), 0, 'no token counted as issued');
  });
}
