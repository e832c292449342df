import { isDatabaseUnavailable } from './database-outage.ts';
import { LatchkeyError, type ErrorCode } from './latchkey-errors.ts';
import { ProtocolError, requestErrors, ServiceUnavailableError } from './protocol-errors.ts';

/**
 * The one mapping from an error to what a client or a shell is told.
 *
 *   oidc-provider's errors          as they are (status and OAuth code are the engine's)
 *   the database cannot be reached  503 temporarily_unavailable, Retry-After (DESIGN decision 10)
 *   a Latchkey error                by its code, in the table below
 *   anything else                   500 server_error, nothing exposed (a bug; logged with its stack)
 */
const BY_CODE: Record<ErrorCode, { http: () => ProtocolError | undefined; exit: number }> = {
  transaction_aborted: { http: () => databaseUnavailable(), exit: 1 },
  hasher_busy: { http: () => new ServiceUnavailableError('the authorization server is busy; retry shortly'), exit: 1 },
  forbidden_origin: { http: () => requestErrors.forbiddenOrigin(), exit: 1 },
  // Not HTTP errors today (the CLI and the start report them); a 500 if one ever escapes a request.
  config_invalid: { http: () => undefined, exit: 1 },
  key_unusable: { http: () => undefined, exit: 1 },
  startup_refused: { http: () => undefined, exit: 1 },
  database_in_use: { http: () => undefined, exit: 1 },
  account_invalid: { http: () => undefined, exit: 1 },
  client_definition_invalid: { http: () => undefined, exit: 1 },
  resource_server_invalid: { http: () => undefined, exit: 1 },
  command_failed: { http: () => undefined, exit: 1 },
  usage: { http: () => undefined, exit: 2 },
};

export function databaseUnavailable(cause?: unknown): ServiceUnavailableError {
  return new ServiceUnavailableError('the authorization server cannot reach its database; retry shortly', cause);
}

/**
 * What the protocol answers for `error`; `undefined` for a bug, which the
 * caller answers as 500 server_error and logs.
 */
export function toProtocolError(error: unknown): ProtocolError | undefined {
  if (error instanceof ProtocolError) return error;
  if (error instanceof LatchkeyError) return BY_CODE[error.code].http();
  if (isDatabaseUnavailable(error)) return databaseUnavailable(error);
  return undefined;
}

/**
 * At the engine's storage boundary (its adapters): an outage becomes the
 * 503 the engine then renders; anything else goes on as it is, so the
 * engine answers a bug with its own 500.
 */
export function outageAsProtocolError(error: unknown): unknown {
  return isDatabaseUnavailable(error) || error instanceof LatchkeyError ? toProtocolError(error) ?? error : error;
}

/** Whether the error is the database being out of reach (a 503 rather than a bug). */
export function isOutage(error: unknown): boolean {
  return isDatabaseUnavailable(error) || (error instanceof LatchkeyError && error.code === 'transaction_aborted');
}

/** A CLI command's exit status: 2 for a wrong command line, 1 for every other failure. */
export function exitStatusOf(error: unknown): number {
  return error instanceof LatchkeyError ? BY_CODE[error.code].exit : 1;
}
