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
 *
 * `http` is the protocol's answer on the public listener; `admin` the HTTP
 * status of the admin API's problem details (src/admin/problem-details.ts),
 * absent where the error is a bug there (500); `exit` the CLI's exit status.
 */
const BY_CODE: Record<ErrorCode, { http: () => ProtocolError | undefined; admin?: number; exit: number }> = {
  transaction_aborted: { http: () => databaseUnavailable(), admin: 503, exit: 1 },
  hasher_busy: { http: () => new ServiceUnavailableError('the authorization server is busy; retry shortly'), admin: 503, exit: 1 },
  forbidden_origin: { http: () => requestErrors.forbiddenOrigin(), exit: 1 },
  // Not HTTP errors on the public listener (the CLI, the start and the admin API report them); a 500 if one ever escapes there.
  // At the admin API: a setup file re-applied that no longer validates (src/realms/setup-application.ts).
  config_invalid: { http: () => undefined, admin: 422, exit: 1 },
  key_unusable: { http: () => undefined, exit: 1 },
  startup_refused: { http: () => undefined, exit: 1 },
  database_in_use: { http: () => undefined, exit: 1 },
  account_invalid: { http: () => undefined, admin: 422, exit: 1 },
  client_definition_invalid: { http: () => undefined, admin: 422, exit: 1 },
  resource_server_invalid: { http: () => undefined, admin: 422, exit: 1 },
  command_failed: { http: () => undefined, exit: 1 },
  usage: { http: () => undefined, exit: 2 },
  account_exists: { http: () => undefined, admin: 409, exit: 1 },
  account_not_found: { http: () => undefined, admin: 404, exit: 1 },
  client_exists: { http: () => undefined, admin: 409, exit: 1 },
  client_not_found: { http: () => undefined, admin: 404, exit: 1 },
  client_has_no_secret: { http: () => undefined, admin: 409, exit: 1 },
  token_not_found: { http: () => undefined, admin: 404, exit: 1 },
  consent_not_found: { http: () => undefined, admin: 404, exit: 1 },
  session_not_found: { http: () => undefined, admin: 404, exit: 1 },
  realm_not_found: { http: () => undefined, admin: 404, exit: 1 },
  request_invalid: { http: () => undefined, admin: 400, exit: 1 },
  bearer_token_invalid: { http: () => undefined, admin: 401, exit: 1 },
  insufficient_scope: { http: () => undefined, admin: 403, exit: 1 },
  too_many_attempts: { http: () => undefined, admin: 429, exit: 1 },
  registration_disabled: { http: () => undefined, admin: 409, exit: 1 },
  initial_access_token_invalid: { http: () => undefined, admin: 422, exit: 1 },
  initial_access_token_not_found: { http: () => undefined, admin: 404, exit: 1 },
  key_change_refused: { http: () => undefined, admin: 409, exit: 1 },
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

/**
 * The admin API's HTTP status for an error (an outage is 503); undefined
 * for a bug, which the admin API answers as 500 and logs.
 */
export function adminStatusOf(error: unknown): number | undefined {
  if (isOutage(error)) return 503;
  return error instanceof LatchkeyError ? BY_CODE[error.code].admin : undefined;
}

/** Whether the error is the database being out of reach (a 503 rather than a bug). */
export function isOutage(error: unknown): boolean {
  return isDatabaseUnavailable(error) || (error instanceof LatchkeyError && error.code === 'transaction_aborted');
}

/** A CLI command's exit status: 2 for a wrong command line, 1 for every other failure. */
export function exitStatusOf(error: unknown): number {
  return error instanceof LatchkeyError ? BY_CODE[error.code].exit : 1;
}
