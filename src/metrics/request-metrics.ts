import type { FastifyReply, FastifyRequest } from 'fastify';
import { routeOf } from '../http/request-log.ts';
import { UNMATCHED_ROUTE, type LatchkeyMetrics, type Listener } from './latchkey-metrics.ts';

/**
 * An onResponse hook that counts each answered request of a listener and
 * its latency, named by its route template as the request log names it
 * (src/http/request-log.ts): a path no route knows is `unmatched`, so that
 * no path, identifier or token ever becomes a label value. Requests the
 * engine answers (hijacked replies) are counted too: the hook runs when the
 * response is finished.
 */
export function requestMetricsHook(metrics: LatchkeyMetrics, listener: Listener) {
  return async function countRequest(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    metrics.observeRequest(listener, routeOf(request) ?? UNMATCHED_ROUTE, request.method, reply.statusCode, reply.elapsedTime / 1000);
  };
}
