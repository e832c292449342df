import { pino, type Logger, type LoggerOptions } from 'pino';

/**
 * Nothing that can carry a credential reaches the log:
 *
 * - requests are serialized as id, method, path and address: never the query
 *   string (a code, an id_token_hint or a state could be there), headers
 *   (Authorization, Cookie) or the body;
 * - replies as their status only (not their headers: Set-Cookie);
 * - errors as type, message, code and stack only: pino's default copies
 *   every enumerable property, such as the raw packet of an HTTP parser
 *   error (the request's bytes, headers included) or a driver's parameters;
 * - any credential-named field logged anywhere in an object is redacted.
 */
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
  '*.password',
  '*.client_secret',
  '*.clientSecret',
  '*.secret',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.code',
  '*.code_verifier',
  '*.id_token_hint',
  '*.client_assertion',
  '*.xsrf',
];

type Loggable = Record<string, unknown>;

function requestSerializer(req: { id?: unknown; method?: unknown; url?: unknown; originalUrl?: unknown; ip?: unknown }): Loggable {
  const url = typeof req.originalUrl === 'string' ? req.originalUrl : typeof req.url === 'string' ? req.url : '';
  return { id: req.id, method: req.method, path: url.split('?')[0], ip: req.ip };
}

function replySerializer(res: { statusCode?: unknown }): Loggable {
  return { statusCode: res.statusCode };
}

function errorSerializer(err: unknown): Loggable {
  if (!(err instanceof Error)) return { message: typeof err === 'string' ? err : 'non-error thrown' };
  const { code, statusCode } = err as Error & { code?: unknown; statusCode?: unknown };
  return { type: err.name, message: err.message, code, statusCode, stack: err.stack };
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { req: requestSerializer, res: replySerializer, err: errorSerializer },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
