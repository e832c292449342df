import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { measureCpu, type CpuShare } from './cpu-usage.ts';

/**
 * What PostgreSQL alone can do from one Node process (pinned like the
 * server, pool of 10, 64 requests in flight), with statements shaped like
 * Latchkey's: the ceiling under the token endpoint (one INSERT per token)
 * and under introspection (one to three primary-key SELECTs). Plain pg, no
 * kysely, so the gap between these figures and Latchkey's is Latchkey's own.
 * A child process of `--profile`; prints one JSON line.
 *
 *   BENCH_DATABASE_URL (migrated), BENCH_SECONDS per measurement (default 5)
 */
const url = process.env.BENCH_DATABASE_URL!;
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const IN_FLIGHT = 64;
const COLUMNS = '(realm, model, id, payload, grant_id, account_id, uid, user_code, expires_at)';
const INSERT = `insert into oidc_payloads ${COLUMNS} values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
  on conflict (realm, model, id) do update set payload = excluded.payload, expires_at = excluded.expires_at`;
const SELECT = `select payload, consumed_at from oidc_payloads
  where realm = $1 and model = $2 and (expires_at is null or expires_at > now()) and id = $3`;
// model in ($2, $3, $4) rather than = any($2): the generic plan of a prepared statement with an
// array parameter does not use the model column of the primary key (a scan of the whole realm).
const SELECT_ANY = `select model, payload, consumed_at from oidc_payloads
  where realm = $1 and model in ($2, $3, $4) and (expires_at is null or expires_at > now()) and id = $5`;
const PAYLOAD = JSON.stringify({ iat: 1, exp: 601, kind: 'ClientCredentials', clientId: 'svc', scope: 'api:read', extra: {}, 'x5t#S256': undefined, aud: undefined, expiresWithSession: undefined });
const MODELS = ['AccessToken', 'ClientCredentials', 'RefreshToken'];

const digest = () => createHash('sha256').update(randomBytes(32)).digest('base64url');
const ids: string[] = [];

async function saturate(pool: pg.Pool, operation: () => Promise<unknown>): Promise<{ ops_per_s: number; cpu: CpuShare | undefined }> {
  const cpu = measureCpu(process.pid);
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (performance.now() < deadline) {
      await operation();
      done += 1;
    }
  }));
  return { ops_per_s: Math.round(done / seconds), cpu: cpu() };
}

function insert(pool: pg.Pool, name?: string) {
  return () => {
    const id = digest();
    if (ids.length < 100_000) ids.push(id);
    const values = ['default', 'ClientCredentials', id, PAYLOAD, null, null, null, null, new Date(Date.now() + 600_000)];
    return pool.query(name ? { name, text: INSERT, values } : { text: INSERT, values });
  };
}

const pick = () => ids[Math.floor(Math.random() * ids.length)]!;

const pools = {
  plain: new pg.Pool({ connectionString: url, max: 10 }),
  asyncCommit: new pg.Pool({ connectionString: url, max: 10, options: '-c synchronous_commit=off' }),
};
const results: Record<string, unknown> = {};
try {
  results['insert'] = await saturate(pools.plain, insert(pools.plain));
  results['insert_prepared'] = await saturate(pools.plain, insert(pools.plain, 'bench_insert'));
  results['insert_prepared_async_commit'] = await saturate(pools.asyncCommit, insert(pools.asyncCommit, 'bench_insert'));
  results['select_pk'] = await saturate(pools.plain, () => pools.plain.query(SELECT, ['default', 'ClientCredentials', pick()]));
  results['select_pk_prepared'] = await saturate(pools.plain, () => pools.plain.query({ name: 'bench_select', text: SELECT, values: ['default', 'ClientCredentials', pick()] }));
  // Introspection as oidc-provider asks for it: one token looked up as three models at once …
  results['introspection_3_selects'] = await saturate(pools.plain, () => {
    const id = pick();
    return Promise.all(MODELS.map((model) => pools.plain.query({ name: 'bench_select', text: SELECT, values: ['default', model, id] })));
  });
  // … and the same answer from one statement.
  results['introspection_1_select'] = await saturate(pools.plain, () =>
    pools.plain.query({ name: 'bench_select_any', text: SELECT_ANY, values: ['default', ...MODELS, pick()] }));
} finally {
  await Promise.all(Object.values(pools).map((pool) => pool.end()));
}
process.stdout.write(`${JSON.stringify({ event: 'pg-ceiling', seconds, in_flight: IN_FLIGHT, pool: 10, results })}\n`);
