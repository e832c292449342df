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

// A property of the request itself rather than a WeakMap entry: set on every request the engine answers,
// where a WeakMap's entries are work for every garbage collection.
const ORIGIN = Symbol('latchkey.requestOrigin');
type WithOrigin = IncomingMessage & { [ORIGIN]?: RequestOrigin };

export function rememberOrigin(req: IncomingMessage, origin: RequestOrigin): void {
  (req as WithOrigin)[ORIGIN] = origin;
}

export function originOf(req: IncomingMessage): RequestOrigin | undefined {
  return (req as WithOrigin)[ORIGIN];
}
