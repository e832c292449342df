import { errors } from 'oidc-provider';

/**
 * The protocol's errors are oidc-provider's own (STYLE.md): what a client
 * sees from Latchkey is what it would see from the engine, rendered by the
 * engine's rules (lib/helpers/err_out.js). This module is where code outside
 * src/oidc/ gets them, so that no HTTP code reaches into the engine to
 * borrow an error class.
 */
export type ProtocolError = InstanceType<typeof errors.OIDCProviderError>;
export const ProtocolError = errors.OIDCProviderError;
export const { InvalidRequest, InvalidClient, InvalidClientAuth, InvalidGrant, InvalidScope, InvalidTarget, SessionNotFound, UnauthorizedClient } = errors;

/** temporarily_unavailable answered with 503 (+ Retry-After) instead of the engine's 400. */
export class ServiceUnavailableError extends errors.TemporarilyUnavailable {
  constructor(description: string, cause?: unknown) {
    super(description, { cause });
    this.status = 503;
    this.statusCode = 503;
    this.expose = true; // exposed errors are rendered as OAuth JSON instead of server_error
  }
}

/** invalid_client, answered with 429 + Retry-After while the attempt is braked. */
export class TooManyAttemptsError extends errors.InvalidClient {
  readonly retryAfter: number;

  constructor(retryAfter: number) {
    super('too many failed client authentication attempts; retry later');
    this.status = 429;
    this.statusCode = 429;
    this.retryAfter = retryAfter;
  }
}

/** invalid_grant, answered with 429 + Retry-After while sign-ins for the account or from the address are braked. */
export class TooManySignInAttemptsError extends errors.InvalidGrant {
  readonly retryAfter: number;

  constructor(retryAfter: number) {
    super('too many failed sign-in attempts; retry later');
    this.status = 429;
    this.statusCode = 429;
    this.retryAfter = retryAfter;
  }
}

/**
 * The failures that no route answers, and the refusals of Latchkey's own
 * non-page routes: oidc-provider's `invalid_request` with the HTTP status
 * that says what was wrong.
 */
export const requestErrors = {
  notFound: () => new errors.InvalidRequest('unrecognized route', 404),
  methodNotAllowed: () => new errors.InvalidRequest('method not allowed', 405),
  timeout: () => new errors.InvalidRequest('request timeout', 408),
  bodyTooLarge: () => new errors.InvalidRequest('request body too large', 413),
  urlTooLong: () => new errors.InvalidRequest('request URL too long', 414),
  unsupportedMediaType: () => new errors.InvalidRequest('unsupported content type', 415),
  headersTooLarge: () => new errors.InvalidRequest('request header fields too large', 431),
  malformed: () => new errors.InvalidRequest('malformed HTTP request'),
  badUrl: () => new errors.InvalidRequest('malformed request URL'),
  missingHost: () => new errors.InvalidRequest('missing Host header'),
  forbiddenOrigin: () => new errors.InvalidRequest('this form was submitted from another site', 403),
  invalid: (status: number) => new errors.InvalidRequest('request is invalid', status),
  /** Keycloak's login-status iframe asked for an origin that is not one of the client's web origins (or for no client). */
  notAWebOrigin: () => new errors.InvalidRequest('origin is not a web origin of the client', 403),
  /** A question only Latchkey's own page may ask, asked from elsewhere (Fetch Metadata). */
  notFromOwnPage: () => new errors.InvalidRequest('only the authorization server\'s own pages may ask this', 403),
};

export type OAuthErrorBody = { error: string; error_description?: string };

/** As oidc-provider's lib/helpers/err_out.js: an exposed error as it is, anything else as server_error. */
export function oauthErrorBody(error: unknown): OAuthErrorBody {
  if (error instanceof errors.OIDCProviderError && error.expose) {
    return error.error_description === undefined ? { error: error.error } : { error: error.error, error_description: error.error_description };
  }
  return { error: 'server_error', error_description: 'oops! something went wrong' };
}

/** The HTTP status an error is answered with: its own when it has one in 4xx/5xx, else 500. */
export function statusOf(error: unknown): number {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

/** RFC 9110 §10.2.3: every 503 tells the client when to retry. */
export const RETRY_AFTER_SECONDS = '5';
