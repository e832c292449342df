import type { Listener } from './latchkey-metrics.ts';

/**
 * The per-request figures (count by status code, latency histogram), kept
 * as plain numbers in nested maps and handed to the registry only at
 * scrape time, as prom-client metric objects (`get()`): prom-client's own
 * Counter and Histogram validate and hash their labels on every call,
 * which on the token endpoint cost more than everything else here.
 */
interface Series {
  labels: { listener: Listener; route: string; method: string };
  byStatus: Map<number, number>;
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  buckets: number[];
  sum: number;
  count: number;
}

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

export class RequestSeries {
  readonly #bounds: readonly number[];
  readonly #series = new Map<Listener, Map<string, Map<string, Series>>>();

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
  }

  observe(listener: Listener, route: string, method: string, status: number, seconds: number): void {
    let routes = this.#series.get(listener);
    if (!routes) this.#series.set(listener, routes = new Map());
    let methods = routes.get(route);
    if (!methods) routes.set(route, methods = new Map());
    let series = methods.get(method);
    if (!series) {
      series = { labels: { listener, route, method }, byStatus: new Map(), buckets: new Array<number>(this.#bounds.length + 1).fill(0), sum: 0, count: 0 };
      methods.set(method, series);
    }
    series.byStatus.set(status, (series.byStatus.get(status) ?? 0) + 1);
    let bucket = 0;
    while (bucket < this.#bounds.length && seconds > this.#bounds[bucket]!) bucket += 1;
    series.buckets[bucket]! += 1;
    series.sum += seconds;
    series.count += 1;
  }

  #all(): Series[] {
    return [...this.#series.values()].flatMap((routes) => [...routes.values()].flatMap((methods) => [...methods.values()]));
  }

  /** The counter `name`, by listener, route, method and status code. */
  counter(name: string, help: string) {
    return {
      name, help, type: 'counter', aggregator: 'sum',
      get: async () => ({
        name, help, type: 'counter', aggregator: 'sum',
        values: this.#all().flatMap((series) => [...series.byStatus].map(([code, value]): Sample => ({ labels: { ...series.labels, code: String(code) }, value }))),
      }),
    };
  }

  /** The histogram `name`, by listener, route and method. */
  histogram(name: string, help: string) {
    return {
      name, help, type: 'histogram', aggregator: 'sum',
      get: async () => ({
        name, help, type: 'histogram', aggregator: 'sum',
        values: this.#all().flatMap((series) => {
          let cumulative = 0;
          const buckets = this.#bounds.map((bound, i): Sample => {
            cumulative += series.buckets[i]!;
            return { metricName: `${name}_bucket`, labels: { ...series.labels, le: bound }, value: cumulative };
          });
          return [
            ...buckets,
            { metricName: `${name}_bucket`, labels: { ...series.labels, le: '+Inf' }, value: series.count },
            { metricName: `${name}_sum`, labels: series.labels, value: series.sum },
            { metricName: `${name}_count`, labels: series.labels, value: series.count },
          ];
        }),
      }),
    };
  }
}
