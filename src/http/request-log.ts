import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * One line per request: method, path, status and milliseconds; never the
 * query string, a header (Authorization, Cookie) or the body. The path is
 * the matched route's pattern (`/interaction/:uid`: an interaction's id is
 * also its cookie's value), and for a path no route knows, the path with
 * every identifier-like segment masked, so that no path puts a code, token
 * or id in the log.
 *
 * With LATCHKEY_LOG_REQUESTS=true the line is logged at info, otherwise at
 * debug; a 5xx is always logged, at error.
 */
export function requestLogHook(logRequests: boolean) {
  return async function logRequest(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const status = reply.statusCode;
    const level = status >= 500 ? 'error' : logRequests ? 'info' : 'debug';
    request.log[level]({ method: request.method, path: pathForLog(request), status, ms: Math.round(reply.elapsedTime) }, 'request');
  };
}

/** Paths described by the realm mounts, which know the engine's routes and rewrite the URL; `known` when an endpoint is there. */
const described = new WeakMap<IncomingMessage, { path: string; known: boolean }>();

export function describePathForLog(raw: IncomingMessage, path: string, known = true): void {
  described.set(raw, { path, known });
}

function pathForLog(request: FastifyRequest): string {
  return routeOf(request) ?? described.get(request.raw)?.path ?? maskedPath(request.url);
}

/**
 * The template of the route that answered (`/interaction/:uid`, the
 * engine's `/token`), or undefined when no route knows the path: what the
 * request log and the metrics (src/metrics/request-metrics.ts) name a request by.
 */
export function routeOf(request: FastifyRequest): string | undefined {
  const description = described.get(request.raw);
  if (description !== undefined) return description.known ? description.path : undefined;
  const route = request.routeOptions.url;
  if (route !== undefined && !(request.routeOptions.config as { engineMount?: boolean } | undefined)?.engineMount) return route;
  return undefined;
}

/** Segments of 16 characters or more with anything but lowercase letters, dots and hyphens look like identifiers. */
export function maskedPath(url: string): string {
  const path = url.split('?')[0] ?? '';
  return path.split('/').map((segment) => (segment.length >= 16 && /[^a-z.-]/.test(segment) ? ':masked' : segment)).join('/');
}
