import { Type } from '@sinclair/typebox';
import { adminRoute } from './admin-route.ts';
import { bare } from './problem-details.ts';

/**
 * Prometheus' scrape target (src/metrics/latchkey-metrics.ts). Prometheus
 * gets its bearer token itself through client credentials (`oauth2:` in a
 * scrape_config) from a client with permissions [admin] and scope
 * `admin:metrics`, which allows this route and nothing else; admin:read and
 * admin:write tokens pass too. With LATCHKEY_METRICS=off nothing is
 * collected, and an authorised scrape is answered 404.
 */
export const metricsRoutes = [
  adminRoute({
    method: 'GET',
    url: '/metrics',
    scope: 'admin:metrics',
    operationId: 'getMetrics',
    summary: 'Prometheus metrics, in the text exposition format 0.0.4',
    tag: 'meta',
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
    schema: { response: { 200: Type.String({ description: 'the Prometheus text exposition format' }) } },
    async handle(_input, services) {
      if (!services.metrics) {
        return { status: 404, body: bare(404, 'metrics are off (LATCHKEY_METRICS=off)'), headers: { 'content-type': 'application/problem+json; charset=utf-8' } };
      }
      return { status: 200, body: await services.metrics.exposition() };
    },
  }),
];
