import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { MetricsSettings } from '../config/index.ts';
import type { ConnectionUsage } from '../store/database.ts';
import { RequestSeries } from './request-series.ts';

/**
 * Latchkey's Prometheus metrics: one registry per assembled Latchkey (a
 * test process runs several; nothing goes to prom-client's global
 * registry), served as text at the admin listener's /metrics
 * (src/admin/metrics-routes.ts). Created by the composition root only with
 * LATCHKEY_METRICS=on; with it off nothing here exists and nothing is counted.
 *
 * Names follow Prometheus' conventions: `latchkey_` prefix, base units
 * (seconds), `_total` for counters. Every label takes values from a set
 * the configuration bounds: route templates, never paths; realm names;
 * grant types the engine serves; client ids only with
 * LATCHKEY_METRICS_CLIENT_LABELS=on. Gauges that mirror a state (the
 * database pool) are read at scrape time, so they cost nothing per request.
 * Node's own (event-loop delay through perf_hooks.monitorEventLoopDelay,
 * memory, CPU, GC) are prom-client's default metrics, without prefix, as
 * dashboards expect them.
 */
export type Listener = 'public' | 'admin';
export type TokenKind = 'access_token' | 'client_credentials' | 'refresh_token' | 'id_token';
export type TokenFormat = 'opaque' | 'jwt';
export type Brake = 'sign_in' | 'client_authentication';

export interface SweepReport {
  deleted: number;
  seconds: number;
  /** Rows still expired when the run ended; 0 when its last batch found fewer rows than it could take. */
  remaining: number;
}

/** Latency buckets from 2.5 ms (a cached introspection) to 10 s (a sign-in behind a busy hasher). */
const LATENCY_BUCKETS = [0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** A route no route table knows: one label value, whatever the path (no path ever becomes a label). */
export const UNMATCHED_ROUTE = 'unmatched';
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export class LatchkeyMetrics {
  readonly registry = new Registry();
  readonly clientLabels: boolean;

  readonly #requests = new RequestSeries(LATENCY_BUCKETS);
  readonly #tokens: Counter<string>;
  readonly #introspections: Counter<string>;
  readonly #signInFailures: Counter<'realm'>;
  readonly #brakes: Counter<'brake'>;
  readonly #sweeps: Counter<'outcome'>;
  readonly #swept: Counter;
  readonly #sweepSeconds: Gauge;
  readonly #sweepRemaining: Gauge;

  constructor(settings: MetricsSettings) {
    this.clientLabels = settings.clientLabels;
    const registers = [this.registry];
    const client = this.clientLabels ? ['client_id'] : [];
    this.registry.registerMetric(this.#requests.counter(
      'latchkey_http_requests_total',
      'HTTP requests answered, by listener, route template, method and status code.',
    ) as unknown as Metric);
    this.registry.registerMetric(this.#requests.histogram(
      'latchkey_http_request_duration_seconds',
      'Time from the request to its answer, by listener, route template and method.',
    ) as unknown as Metric);
    this.#tokens = new Counter({
      name: 'latchkey_tokens_issued_total',
      help: 'Tokens handed out at the token endpoint, by realm, grant type, kind and format.',
      labelNames: ['realm', 'grant_type', 'kind', 'format', ...client],
      registers,
    });
    this.#introspections = new Counter({
      name: 'latchkey_introspections_total',
      help: 'Introspection answers (RFC 7662), by realm and result (active or inactive).',
      labelNames: ['realm', 'result', ...client],
      registers,
    });
    this.#signInFailures = new Counter({
      name: 'latchkey_sign_in_failures_total',
      help: 'Passwords refused (unknown login, wrong password or disabled account) at the sign-in page and the password grant, by realm.',
      labelNames: ['realm'],
      registers,
    });
    this.#brakes = new Counter({
      name: 'latchkey_brakes_engaged_total',
      help: 'Attempts refused unchecked because their brake was engaged (429), by brake.',
      labelNames: ['brake'],
      registers,
    });
    this.#sweeps = new Counter({
      name: 'latchkey_sweeper_runs_total',
      help: 'Runs of the expired-row sweeper, by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    this.#swept = new Counter({ name: 'latchkey_sweeper_deleted_rows_total', help: 'Expired rows deleted by the sweeper.', registers });
    this.#sweepSeconds = new Gauge({ name: 'latchkey_sweeper_last_run_duration_seconds', help: 'How long the last successful sweep took.', registers });
    this.#sweepRemaining = new Gauge({
      name: 'latchkey_sweeper_backlog_rows',
      help: 'Rows still expired when the last successful sweep ended (0 when its last batch was not full).',
      registers,
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** One answered request. `route` is a template (`/v1/realms/:realm/clients`) or UNMATCHED_ROUTE. */
  observeRequest(listener: Listener, route: string, method: string, status: number, seconds: number): void {
    this.#requests.observe(listener, route, METHODS.has(method) ? method : 'other', status, seconds);
  }

  tokenIssued(labels: { realm: string; grantType: string; kind: TokenKind; format: TokenFormat; clientId: string | undefined }): void {
    this.#tokens.inc({
      realm: labels.realm, grant_type: labels.grantType, kind: labels.kind, format: labels.format,
      ...(this.clientLabels ? { client_id: labels.clientId ?? '' } : {}),
    });
  }

  introspected(labels: { realm: string; active: boolean; clientId: string | undefined }): void {
    this.#introspections.inc({
      realm: labels.realm, result: labels.active ? 'active' : 'inactive',
      ...(this.clientLabels ? { client_id: labels.clientId ?? '' } : {}),
    });
  }

  signInFailed(realm: string): void {
    this.#signInFailures.inc({ realm });
  }

  brakeEngaged(brake: Brake): void {
    this.#brakes.inc({ brake });
  }

  swept(report: SweepReport): void {
    this.#sweeps.inc({ outcome: 'ok' });
    this.#swept.inc(report.deleted);
    this.#sweepSeconds.set(report.seconds);
    this.#sweepRemaining.set(report.remaining);
  }

  sweepFailed(): void {
    this.#sweeps.inc({ outcome: 'failed' });
  }

  /** The database's connections, read at each scrape. */
  watchDatabase(usage: () => ConnectionUsage): void {
    const registers = [this.registry];
    new Gauge({
      name: 'latchkey_database_connections',
      help: 'Database connections by state (in_use, idle); the embedded database has one.',
      labelNames: ['state'],
      registers,
      collect() {
        const now = usage();
        this.set({ state: 'in_use' }, now.inUse);
        this.set({ state: 'idle' }, now.idle);
      },
    });
    new Gauge({
      name: 'latchkey_database_waiting_requests',
      help: 'Requests waiting for a database connection (embedded: statements waiting for its single connection).',
      registers,
      collect() { this.set(usage().waiting); },
    });
    let counted = 0;
    new Counter({
      name: 'latchkey_database_errors_total',
      help: 'Database connections lost and statements that failed because the database was unreachable.',
      registers,
      collect() {
        const errors = usage().errors;
        if (errors > counted) this.inc(errors - counted);
        counted = errors;
      },
    });
    new Gauge({
      name: 'latchkey_database_info',
      help: 'The database in use: postgres (a server) or pglite (embedded).',
      labelNames: ['kind'],
      registers,
      collect() { this.set({ kind: usage().kind }, 1); },
    });
  }

  /** The text exposition format (version 0.0.4). */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }
}
