import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import type { Logger } from 'pino';
import { NO_AUDIT, type AuditSink } from '../audit/audit-event.ts';
import { ADMIN_REALM, describeSchemaError, fieldPath } from '../config/index.ts';
import { InvalidRequestError, isOutage, TransactionAbortedError } from '../errors/index.ts';
import { HostRoutes } from '../http/endpoints.ts';
import { requestLogHook } from '../http/request-log.ts';
import { COMMON_HEADERS } from '../http/security-headers.ts';
import { inTransaction, type UnitOfWork } from '../store/unit-of-work.ts';
import type { AdminPrincipal, AuthenticateAdmin } from './admin-authentication.ts';
import type { AdminRoute, AdminServices } from './admin-route.ts';
import { ADMIN_ROUTES } from './admin-routes.ts';
import { bare, problemAnswer, sendProblem, type ProblemAnswer } from './problem-details.ts';

export interface AdminAppDeps {
  logger: Logger;
  services: AdminServices;
  /** Bearer tokens of admin clients, checked before anything else of a request is read (src/admin/admin-authentication.ts). */
  authenticate: AuthenticateAdmin;
  /** A unit of work per changing request: its writes commit together or not at all (src/store/unit-of-work.ts). */
  unitOfWork: () => UnitOfWork;
  trustProxy: boolean;
  logRequests?: boolean;
  /** Counts each answered request (src/metrics/request-metrics.ts); absent with LATCHKEY_METRICS=off. */
  countRequest?: ((request: FastifyRequest, reply: FastifyReply) => Promise<void>) | undefined;
  /** Each write request is an `admin.<operationId>` audit event, under the admin realm's name (src/audit/). */
  audit?: AuditSink | undefined;
}

/** Fastify's hop count, as in the public app (src/http/build-app.ts): only the proxy right in front is trusted. */
const trustOneHop = (_address: string, hop: number) => hop === 0;
/** A JSON answer is never a document to render or frame. */
const JSON_CSP = "default-src 'none'; frame-ancestors 'none'";
const ROUTE_MARK = 'latchkeyAdminRoute';
const NO_SERVICES = Object.freeze({}) as AdminServices;

/**
 * Builds the admin API's Fastify app, a separate instance from the public
 * one (src/http/build-app.ts) over the same services; never listens
 * (src/main.ts listens on LATCHKEY_ADMIN_HOST:LATCHKEY_ADMIN_PORT). It
 * holds the routes of the route table and nothing else, and the public app
 * holds none of them: a path, however it is spelt, reaches an admin route
 * only on the admin listener.
 *
 * A request, in order: route match (404 problem, or 405 with Allow) →
 * bearer token and scope (onRequest, before the body is read: 401, 403,
 * 429) → body and parameters checked against the route's TypeBox schemas
 * (400) → the handler, in one unit of work when it writes → the answer,
 * serialized through the route's response schema (an allow-list). Every
 * answer is `Cache-Control: no-store`; every error RFC 9457 problem details.
 */
export async function buildAdminApp(deps: AdminAppDeps, routes: readonly AdminRoute[] = ADMIN_ROUTES): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    trustProxy: deps.trustProxy ? trustOneHop : false,
    logController: new LogController({ disableRequestLogging: true }),
    clientErrorHandler: problemForClientError(deps.logger),
    frameworkErrors: (_error, _request, reply) => { void sendProblem(reply, { problem: bare(400, 'malformed request URL'), headers: {} }); },
    http: { requireHostHeader: false },
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    keepAliveTimeout: 72_000,
    // A client definition with a hundred redirect URIs and twenty keys fits well within this.
    bodyLimit: 256 * 1024,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    exposeHeadRoutes: false,
    // Client ids and usernames (up to 256 characters) percent-encoded in the path.
    routerOptions: { maxParamLength: 1000 },
  });

  // Requests are checked with TypeBox (the setup file's validator), and their problems told in the setup file's words;
  // parameters and query strings arrive as text and are converted first, bodies are taken as they are.
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const check = TypeCompiler.Compile(schema as TSchema);
    const convert = httpPart === 'querystring' || httpPart === 'params';
    return (data: unknown) => {
      const value = convert ? Value.Convert(schema as TSchema, data) : data;
      if (check.Check(value)) return { value };
      return { error: invalid(httpPart ?? 'body', [...check.Errors(value)]) };
    };
  });
  // JSON only: a form or text body is a 415.
  app.removeContentTypeParser('text/plain');

  const principals = new WeakMap<FastifyRequest, AdminPrincipal>();
  const hostRoutes = new HostRoutes();
  app.addHook('onRoute', (route) => {
    // The route table is the only way in, so that every route is documented and in the authorization matrix.
    if (!(route.config as Record<string, unknown> | undefined)?.[ROUTE_MARK]) throw new Error(`admin route ${route.method} ${route.url} is not in the route table`);
    hostRoutes.add(route);
  });
  /** No route takes the path (404), or not with this method (405 with Allow): whatever the body is, which stays unread. */
  const answerUnrouted = (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? '';
    // No HEAD twins here (exposeHeadRoutes is off): Allow names only what is served.
    const allowed = (hostRoutes.match(path)?.methods ?? []).filter((method) => method !== 'HEAD');
    if (allowed.length) return sendProblem(reply, { problem: bare(405, 'method not allowed'), headers: { allow: allowed.join(', ') } });
    return sendProblem(reply, { problem: bare(404, 'no such route on the admin API'), headers: {} });
  };
  app.addHook('onRequest', async (request, reply) => {
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400.
    if (request.raw.httpVersion === '1.1' && !request.headers.host) throw new InvalidRequestError('missing Host header');
    if (request.is404) return answerUnrouted(request, reply);
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(COMMON_HEADERS).header('cache-control', 'no-store');
    // The reference page brings its own policy (src/admin/reference-page.ts); everything else is JSON.
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', JSON_CSP);
  });
  app.addHook('onResponse', requestLogHook(deps.logRequests ?? false));
  if (deps.countRequest) app.addHook('onResponse', deps.countRequest);
  const audit = deps.audit ?? NO_AUDIT;
  /** A write request's event: after its unit of work committed, or when it was refused (4xx); a 5xx changed nothing and is no decision. */
  const recordWrite = (request: FastifyRequest, outcome: 'success' | 'failure', extra: { target?: string | undefined; before?: unknown; after?: unknown; status: number; code?: string | undefined }) => {
    const { operationId, scope } = (request.routeOptions.config ?? {}) as { operationId?: string; scope?: string };
    if (scope !== 'admin:write' || !operationId) return;
    const params = (request.params ?? {}) as Record<string, unknown>;
    const target = extra.target ?? [params['clientId'], params['username']].find((value) => typeof value === 'string') as string | undefined;
    audit.record({
      realm: ADMIN_REALM,
      type: `admin.${operationId}`,
      outcome,
      actor: principals.get(request)?.clientId,
      requestId: request.id,
      address: request.ip,
      details: {
        ...(typeof params['realm'] === 'string' ? { realm: params['realm'] } : {}),
        ...(target === undefined ? {} : { target }),
        status: extra.status,
        ...(extra.code === undefined ? {} : { code: extra.code }),
        ...(extra.before === undefined ? {} : { before: extra.before }),
        ...(extra.after === undefined ? {} : { after: extra.after }),
      },
    });
  };
  app.setErrorHandler(async (error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const answer = frameworkRefusal(error) ?? problemAnswer(error);
    if (answer.problem.status === 500) request.log.error({ err: error }, 'admin request failed');
    const { status, code } = answer.problem as { status: number; code?: string };
    if (status < 500) recordWrite(request, 'failure', { status, code });
    return sendProblem(reply, answer);
  });
  app.setNotFoundHandler(async (request, reply) => answerUnrouted(request, reply));

  for (const route of routes) {
    if (route.scope === 'none' && route.method !== 'GET') throw new Error(`admin route ${route.method} ${route.url}: only static documentation (GET) goes without a token`);
    const { params, querystring, body, response } = route.schema;
    app.route({
      method: route.method,
      url: route.url,
      schema: { ...(params ? { params } : {}), ...(querystring ? { querystring } : {}), ...(body ? { body } : {}), response },
      config: { [ROUTE_MARK]: true, endpointKind: 'api', operationId: route.operationId, scope: route.scope },
      onRequest: async (request) => {
        if (route.scope !== 'none') principals.set(request, await deps.authenticate(request, route.scope));
      },
      handler: async (request, reply) => {
        const input = { params: request.params, query: request.query, body: request.body, principal: principals.get(request)! } as Parameters<AdminRoute['handle']>[0];
        // Static documentation gets no services, so that it cannot show data to a request without a token.
        const work = () => route.handle(input, route.scope === 'none' ? NO_SERVICES : deps.services);
        const answer = route.scope === 'admin:write' && route.outsideUnitOfWork === undefined ? await inUnitOfWork(deps.unitOfWork, work) : await work();
        recordWrite(request, 'success', { ...answer.audit, status: answer.status });
        reply.code(answer.status).headers(answer.headers ?? {});
        // A route that answers other than JSON (the metrics' text) says so in the table; its errors stay problem details.
        if (route.contentType && answer.status < 300) reply.type(route.contentType);
        return answer.status === 204 ? reply.send() : reply.send(answer.body);
      },
    });
  }
  return app;
}

/**
 * Runs a changing request's work in one unit of work whose transaction
 * begins at once, so that every statement of it, the services' query
 * builder ones included, is in it: its writes commit together or not at
 * all, and a failed commit is a 503 that means "nothing happened, retry".
 */
async function inUnitOfWork<T>(unitOfWork: () => UnitOfWork, work: () => Promise<T>): Promise<T> {
  return inTransaction(unitOfWork(), work, (error) => (isOutage(error) ? error : new TransactionAbortedError('the changes could not be committed; nothing was changed')));
}

/** A request part that does not fit its schema: each problem names its field (as the rules write it), never its value. */
function invalid(part: string, errors: ReturnType<ReturnType<typeof TypeCompiler.Compile>['Errors']> extends Iterable<infer E> ? E[] : never): InvalidRequestError {
  const problems: { field: string; message: string }[] = [];
  for (const error of errors) {
    const field = error.path ? fieldPath(error.path) : part === 'body' ? 'body' : part;
    if (!problems.some((p) => p.field === field)) problems.push({ field, message: describeSchemaError(error) });
    if (problems.length === 20) break;
  }
  const [first] = problems;
  return new InvalidRequestError(first ? `${first.field}: ${first.message}` : `the request's ${part} is invalid`, problems);
}

/**
 * What Fastify itself refused (JSON that does not parse, a body over the
 * limit, a content type it does not take), with a fixed sentence: the
 * status stays, the framework's message does not. Undefined for anything else.
 */
function frameworkRefusal(error: { statusCode?: number; code?: string }): ProblemAnswer | undefined {
  const status = error.statusCode;
  if (!error.code?.startsWith('FST_') || status === undefined || status < 400 || status >= 500) return undefined;
  const detail = status === 413 ? 'request body too large' : status === 415 ? 'the body must be application/json' : 'malformed request';
  return { problem: bare(status, detail), headers: {} };
}

/** What Node's HTTP parser refused, before any route: a problem, without quoting the request (it may hold a token). */
function problemForClientError(log: Logger) {
  return function answerClientError(error: Error & { code?: string }, socket: import('node:net').Socket): void {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    log.debug({ code: error.code, status }, 'client error');
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const body = JSON.stringify(bare(status, 'malformed HTTP request'));
      socket.write(`HTTP/1.1 ${status} ${bare(status, '').title}\r\ncontent-type: application/problem+json; charset=utf-8\r\ncache-control: no-store\r\n`
        + `x-content-type-options: nosniff\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    }
    socket.destroy();
  };
}
