/**
 * Latchkey's own errors: one class per situation, each with a stable `code`.
 * What a code means to a client (HTTP status, OAuth error) or to a shell
 * (exit status) is decided in one place, src/errors/error-mapping.ts; the
 * protocol errors themselves are oidc-provider's (src/errors/protocol-errors.ts).
 * Messages name fields and files, never a secret's value.
 */
export type ErrorCode =
  | 'config_invalid'
  | 'key_unusable'
  | 'startup_refused'
  | 'database_in_use'
  | 'transaction_aborted'
  | 'hasher_busy'
  | 'account_invalid'
  | 'client_definition_invalid'
  | 'resource_server_invalid'
  | 'forbidden_origin'
  | 'usage'
  | 'command_failed'
  | 'account_exists'
  | 'account_not_found'
  | 'client_exists'
  | 'client_not_found'
  | 'client_has_no_secret'
  | 'token_not_found'
  | 'consent_not_found'
  | 'session_not_found'
  | 'realm_not_found'
  | 'request_invalid'
  | 'bearer_token_invalid'
  | 'insufficient_scope'
  | 'too_many_attempts'
  | 'registration_disabled'
  | 'initial_access_token_invalid'
  | 'initial_access_token_not_found'
  | 'key_change_refused';

export abstract class LatchkeyError extends Error {
  abstract readonly code: ErrorCode;
}

/** A configuration problem, naming the source and the field; never the value (it may be a secret). */
export class ConfigError extends LatchkeyError {
  override name = 'ConfigError';
  readonly code = 'config_invalid';
  readonly field: string;
  readonly problem: string;

  constructor(field: string, problem: string, source?: string) {
    super(`${source ? `${source}: ` : ''}${field}: ${problem}`);
    this.field = field;
    this.problem = problem;
  }
}

/** A key file that cannot be used, naming the file and the cause, never the passphrase or key material. */
export class KeyLoadError extends LatchkeyError {
  override name = 'KeyLoadError';
  readonly code = 'key_unusable';
}

/** The server refuses to start in this state (e.g. pending migrations). */
export class StartupError extends LatchkeyError {
  override name = 'StartupError';
  readonly code = 'startup_refused';
}

/** Another process holds the embedded database (src/store/embedded-lock.ts). */
export class EmbeddedDatabaseInUseError extends LatchkeyError {
  override name = 'EmbeddedDatabaseInUseError';
  readonly code = 'database_in_use';
  readonly owner: { pid: number; role: string; hostname: string } | undefined;

  constructor(message: string, owner: { pid: number; role: string; hostname: string } | undefined) {
    super(message);
    this.owner = owner;
  }
}

/** PostgreSQL rolled a unit of work back itself: nothing of it happened (src/store/unit-of-work.ts). */
export class TransactionAbortedError extends LatchkeyError {
  override name = 'TransactionAbortedError';
  readonly code = 'transaction_aborted';
}

/** Every argon2 slot is taken and the queue is full: nothing was verified. */
export class HasherBusyError extends LatchkeyError {
  override name = 'HasherBusyError';
  readonly code = 'hasher_busy';
}

/** An account operation the rules refuse (taken username, unknown user, weak password, …). */
export class AccountError extends LatchkeyError {
  override name = 'AccountError';
  readonly code = 'account_invalid';
}

/** An account by that name already exists in the realm; nothing was stored. */
export class AccountExistsError extends LatchkeyError {
  override name = 'AccountExistsError';
  readonly code = 'account_exists';
}

/** No account by that name in the realm. */
export class AccountNotFoundError extends LatchkeyError {
  override name = 'AccountNotFoundError';
  readonly code = 'account_not_found';
}

/** A client by that id already exists in the realm; nothing was stored. */
export class ClientExistsError extends LatchkeyError {
  override name = 'ClientExistsError';
  readonly code = 'client_exists';

  constructor(realm: string, clientId: string) {
    super(`client ${clientId} already exists in realm ${realm}`);
  }
}

/** No client by that id in the realm. */
export class ClientNotFoundError extends LatchkeyError {
  override name = 'ClientNotFoundError';
  readonly code = 'client_not_found';

  constructor(realm: string, clientId: string) {
    super(`no client ${clientId} in realm ${realm}`);
  }
}

/** A secret rotation for a client that authenticates without one (none, private_key_jwt). */
export class ClientHasNoSecretError extends LatchkeyError {
  override name = 'ClientHasNoSecretError';
  readonly code = 'client_has_no_secret';

  constructor(realm: string, clientId: string) {
    super(`client ${clientId} in realm ${realm} has no secret to rotate (it authenticates without one)`);
  }
}

/**
 * No live token, consent or session by that handle in the realm: never
 * issued here, expired, revoked, or not a handle this server made (which of
 * those is not said).
 */
export class IssuedNotFoundError extends LatchkeyError {
  override name = 'IssuedNotFoundError';
  readonly code: 'token_not_found' | 'consent_not_found' | 'session_not_found';

  constructor(kind: 'token' | 'consent' | 'session', realm: string) {
    super(`no live ${kind} by that id in realm ${realm}`);
    this.code = `${kind}_not_found`;
  }
}

/** A realm this server does not serve. */
export class RealmNotFoundError extends LatchkeyError {
  override name = 'RealmNotFoundError';
  readonly code = 'realm_not_found';

  constructor(realm: string) {
    super(`no realm ${realm} is served here`);
  }
}

/**
 * An admin API request whose parameters or body do not fit the route's
 * schema (src/admin/); each problem names its field, never its value.
 */
export class InvalidRequestError extends LatchkeyError {
  override name = 'InvalidRequestError';
  readonly code = 'request_invalid';
  readonly problems: readonly { field: string; message: string }[];

  constructor(message: string, problems: readonly { field: string; message: string }[] = []) {
    super(message);
    this.problems = problems;
  }
}

/**
 * An admin API request without a usable bearer token (RFC 6750 §3.1):
 * none was presented (`presented: false`: no error code is given then), or
 * the one presented is unknown, expired or revoked (`invalid_token`).
 */
export class BearerTokenError extends LatchkeyError {
  override name = 'BearerTokenError';
  readonly code = 'bearer_token_invalid';
  readonly presented: boolean;

  constructor(presented: boolean) {
    super(presented ? 'the access token is invalid, expired or revoked' : 'an access token is required');
    this.presented = presented;
  }
}

/** A valid token without the scope the request needs (RFC 6750 §3.1 insufficient_scope). */
export class InsufficientScopeError extends LatchkeyError {
  override name = 'InsufficientScopeError';
  readonly code = 'insufficient_scope';
  readonly scope: string;

  constructor(scope: string) {
    super(`this request needs a token with the ${scope} scope`);
    this.scope = scope;
  }
}

/**
 * Too many failed bearer tokens from this address at the admin API: nothing
 * was checked (the client-authentication brakes, src/rate-limits/).
 */
export class TooManyTokenAttemptsError extends LatchkeyError {
  override name = 'TooManyTokenAttemptsError';
  readonly code = 'too_many_attempts';
  readonly retryAfter: number;

  constructor(retryAfter: number) {
    super('too many failed attempts with invalid tokens; retry later');
    this.retryAfter = retryAfter;
  }
}

/** A client definition the client rules (src/config/client-rules.ts) refuse; nothing was stored. */
export class ClientDefinitionError<P = unknown> extends LatchkeyError {
  override name = 'ClientDefinitionError';
  readonly code = 'client_definition_invalid';
  /** Every problem, each naming its field; the message never holds a value. */
  readonly problems: readonly P[];

  constructor(message: string, problems: readonly P[]) {
    super(message);
    this.problems = problems;
  }
}

/** A resource server definition the rules (src/config/resource-server-rules.ts) refuse; nothing was stored. */
export class ResourceServerDefinitionError extends LatchkeyError {
  override name = 'ResourceServerDefinitionError';
  readonly code = 'resource_server_invalid';
}

/**
 * A key change (src/keys/key-administration.ts) the keys folder's state
 * refuses: what `reason` says, for `alg`; nothing was written. The CLI and
 * the admin API each tell the way out in their own words.
 */
export class KeyChangeRefusedError extends LatchkeyError {
  override name = 'KeyChangeRefusedError';
  readonly code = 'key_change_refused';
  readonly reason: 'has-signer' | 'no-signer' | 'staged' | 'name-taken' | 'busy';
  readonly alg: string | undefined;

  constructor(reason: KeyChangeRefusedError['reason'], message: string, alg?: string) {
    super(message);
    this.reason = reason;
    this.alg = alg;
  }
}

/** A form POST that did not come from our own pages (CSRF). */
export class ForbiddenOriginError extends LatchkeyError {
  override name = 'ForbiddenOriginError';
  readonly code = 'forbidden_origin';

  constructor() {
    super('this form was submitted from another site');
  }
}

/** A wrong command line: exit status 2. */
export class UsageError extends LatchkeyError {
  override name = 'UsageError';
  readonly code = 'usage';
}

/** A CLI failure the user can act on, reported as one line: exit status 1. */
export class CliError extends LatchkeyError {
  override name = 'CliError';
  readonly code = 'command_failed';
}

/** A realm whose setup does not enable dynamic client registration: a token for it could never be used. */
export class RegistrationDisabledError extends LatchkeyError {
  override name = 'RegistrationDisabledError';
  readonly code = 'registration_disabled';

  constructor(realm: string) {
    super(`realm ${realm} does not accept client registrations: set registration.enabled for it in the setup file`);
  }
}

/** An initial access token asked for with a lifetime or a use count the rules refuse (src/registration/initial-access-tokens.ts). */
export class InitialAccessTokenError extends LatchkeyError {
  override name = 'InitialAccessTokenError';
  readonly code = 'initial_access_token_invalid';
  readonly problems: readonly { field: string; message: string }[];

  constructor(problems: readonly { field: string; message: string }[]) {
    super(problems.map(({ field, message }) => `${field}: ${message}`).join('; '));
    this.problems = problems;
  }
}

/** No initial access token with that id in the realm. */
export class InitialAccessTokenNotFoundError extends LatchkeyError {
  override name = 'InitialAccessTokenNotFoundError';
  readonly code = 'initial_access_token_not_found';

  constructor(realm: string, id: string) {
    super(`no initial access token ${id} in realm ${realm}`);
  }
}
