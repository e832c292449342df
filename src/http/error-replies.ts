import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyServerOptions } from 'fastify';
import { oauthErrorBody, ProtocolError, requestErrors, RETRY_AFTER_SECONDS, statusOf } from '../errors/index.ts';
import type { EndpointKind } from './endpoints.ts';
import { errorPage, type PageBranding } from './error-pages.ts';
import { COMMON_HEADERS, contentSecurityPolicy } from './security-headers.ts';

/**
 * One error shape everywhere. API endpoints answer RFC 6749 §5.2 JSON
 * (`{ error, error_description }`), browser endpoints Latchkey's error page
 * (src/http/error-pages.ts), unknown paths whichever the Accept header
 * prefers (JSON unless it prefers HTML). Every error is
 * `Cache-Control: no-store` and carries no internals. What an error is
 * answered with is decided by src/errors/error-mapping.ts.
 */

/**
 * What Fastify itself refused (a Content-Type that does not parse, a body
 * over its limit, …) as the engine error to answer: the status stays, the
 * framework's message does not.
 */
export function fastifyErrorAnswer(error: Error & { code?: string; statusCode?: number }): Error {
  if (error instanceof ProtocolError) return error;
  const status = statusOf(error);
  if (status === 413) return requestErrors.bodyTooLarge();
  if (status === 415) return requestErrors.unsupportedMediaType();
  if (status === 404) return requestErrors.notFound();
  if (status < 500) return requestErrors.invalid(status);
  return error;
}

/**
 * Whether Accept prefers text/html to application/json, decided as Koa's
 * `ctx.accepts('json', 'html')` (negotiator) decides it: the most specific
 * matching range gives each type its q; higher q wins; a tie goes to JSON.
 */
export function prefersHtml(accept: string | undefined): boolean {
  const ranges = (accept || '*/*').split(',').map((part, order) => {
    const [range = '', ...params] = part.trim().split(';');
    const q = params.map((p) => p.trim().match(/^q=([\d.]+)$/i)?.[1]).find(Boolean);
    const [type = '', subtype = ''] = range.trim().toLowerCase().split('/');
    return { type, subtype, q: q === undefined ? 1 : Number(q), order };
  });
  const priority = (type: string, subtype: string) => {
    let best: { q: number; s: number } | undefined;
    for (const r of ranges) {
      if ((r.type !== type && r.type !== '*') || (r.subtype !== subtype && r.subtype !== '*')) continue;
      const s = (r.type === type ? 4 : 0) | (r.subtype === subtype ? 2 : 0);
      if (!best || s > best.s || (s === best.s && r.q > best.q)) best = { q: r.q, s };
    }
    return best && best.q > 0 ? best : undefined;
  };
  const html = priority('text', 'html');
  const json = priority('application', 'json');
  return html !== undefined && (json === undefined || html.q > json.q || (html.q === json.q && html.s > json.s));
}

export function wantsPage(kind: EndpointKind | undefined, accept: string | undefined): boolean {
  return kind ? kind === 'page' : prefersHtml(accept);
}

/** Answers a Fastify request with an engine error, as a page or as JSON. */
export function replyWithError(reply: FastifyReply, error: unknown, { page, assetsPath, branding }: { page: boolean; assetsPath: string; branding?: PageBranding | undefined }): FastifyReply {
  const status = statusOf(error);
  const body = oauthErrorBody(error);
  // Also here, not only in onSend: Fastify answers framework errors without running hooks.
  reply.code(status).headers(COMMON_HEADERS).header('cache-control', 'no-store');
  if (status === 503) reply.header('retry-after', RETRY_AFTER_SECONDS);
  if (!page) return reply.type('application/json; charset=utf-8').send(body);
  return reply
    .header('content-security-policy', contentSecurityPolicy())
    .type('text/html; charset=utf-8')
    .send(errorPage(status, body, { assetsPath, branding, error }));
}

/** Fastify's `frameworkErrors`: a URL that does not decode, or a path parameter over maxParamLength. */
export function frameworkErrorReply(assetsPath: string): NonNullable<FastifyServerOptions['frameworkErrors']> {
  return function answerFrameworkError(error, request, reply) {
    const answer = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? requestErrors.urlTooLong() : requestErrors.badUrl();
    void replyWithError(reply as FastifyReply, answer, { page: prefersHtml(request.headers.accept), assetsPath });
  };
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refused before any
 * route (headers over 16 KiB, malformed request lines or header values, a
 * request that took too long). Nothing of the request is known, so the
 * answer is JSON. Only the parser's code is logged, never the raw packet
 * (Fastify's default logs it, and it may hold credentials). Like Node's own
 * handler, nothing is written once a response on this connection has started.
 */
export function clientErrorReply(log: { debug(object: object, message: string): void }) {
  return function answerClientError(error: Error & { code?: string }, socket: Socket): void {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const answer = error.code === 'HPE_HEADER_OVERFLOW' ? requestErrors.headersTooLarge()
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? requestErrors.timeout()
      : requestErrors.malformed();
    log.debug({ code: error.code, status: answer.statusCode }, 'client error');
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const body = JSON.stringify(oauthErrorBody(answer));
      const headers = {
        ...COMMON_HEADERS,
        'cache-control': 'no-store',
        'content-type': 'application/json; charset=utf-8',
        'content-length': String(Buffer.byteLength(body)),
        connection: 'close',
      };
      const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
      socket.write(`HTTP/1.1 ${answer.statusCode} ${STATUS_CODES[answer.statusCode]}\r\n${head}\r\n${body}`);
    }
    socket.destroy();
  };
}
