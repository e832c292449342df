import type { FastifyInstance } from 'fastify';

/**
 * /healthz: the process is up (liveness). /readyz: it can serve requests,
 * i.e. the database answers (readiness); 503 while it does not, so a load
 * balancer routes around this instance until the database is back.
 */
export async function healthRoutes(app: FastifyInstance, { ping }: { ping: () => Promise<void> }): Promise<void> {
  // Probes are programs: their errors (a wrong method) are JSON whatever Accept says.
  const api = { config: { endpointKind: 'api' } };
  app.get('/healthz', api, async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));
  app.get('/readyz', api, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    try {
      await ping();
      return reply.send({ status: 'ready' });
    } catch {
      return reply.code(503).header('retry-after', '5').send({ status: 'unavailable', reason: 'database unreachable' });
    }
  });
}
