import type { IncomingMessage } from 'node:http';

/**
 * Where a request handed to the engine came from, as Fastify saw it (its
 * request id, and its address under the trust-proxy setting), for the
 * events the engine's hooks record: they see only the raw request.
 */
export interface RequestOrigin {
  requestId: string;
  address: string;
}

const origins = new WeakMap<IncomingMessage, RequestOrigin>();

export function rememberOrigin(req: IncomingMessage, origin: RequestOrigin): void {
  origins.set(req, origin);
}

export function originOf(req: IncomingMessage): RequestOrigin | undefined {
  return origins.get(req);
}
