/**
 * The one shape of an audit event, as the `audit_events` table stores it,
 * the log writes it (`{ audit: {...} }`; successes at debug, failures at
 * warn, admin changes and key rotations at info) and the admin API answers
 * it. Types are dotted names, the family first:
 *
 *   sign_in.succeeded  sign_in.failed            the sign-in page and the password grant
 *   consent.given      consent.withdrawn         the consent page; a grant revoked
 *   token.issued       token.refreshed  token.revoked
 *   refresh_token.reuse_detected  authorization_code.reuse_detected
 *   client_authentication.failed  brake.engaged
 *   keys.rotated                                 the signing keys changed
 *   admin.<operationId>                          a write through the admin API
 *
 * Never a secret, token value, code, password, digest or hash: `details`
 * holds names (grant type, scopes, error codes, token kinds) and, for admin
 * changes, the redacted views the admin API answers with.
 */
export type AuditOutcome = 'success' | 'failure';

/** What a source knows of an event; the trail adds its id and time. */
export interface AuditDraft {
  realm: string;
  type: string;
  outcome: AuditOutcome;
  /** Who acted: an account id, a client id, or an admin client. */
  actor?: string | undefined;
  clientId?: string | undefined;
  /** The user concerned: an account id, or the login as typed when none matched. */
  user?: string | undefined;
  /** The client's address as Fastify sees it under the trust-proxy setting. */
  address?: string | undefined;
  requestId?: string | undefined;
  details?: Record<string, unknown> | undefined;
}

export interface AuditEvent {
  id: string;
  occurred_at: Date;
  realm: string;
  type: string;
  outcome: AuditOutcome;
  actor: string | null;
  client_id: string | null;
  user: string | null;
  address: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
}

/** Where sources hand their events; recording never throws and never waits. */
export interface AuditSink {
  record(draft: AuditDraft): void;
}

/** LATCHKEY_AUDIT=off, and parts built without an audit trail (tests of other features). */
export const NO_AUDIT: AuditSink = { record() {} };
