import { addressKey } from './address-key.ts';
import { FailureLimiter, type FailureRule } from './failure-limiter.ts';

/**
 * Brakes on failed client authentication with a secret, keyed only on what
 * the caller sends and where it comes from, never on whether the client
 * exists: an unknown client id is braked exactly like a known one.
 *
 * - (realm, client id as sent, address): 10 failures per minute (SECURITY-CATALOG 49).
 * - address: 100 failures per minute, whatever the client ids: against one
 *   chosen secret sprayed over many clients, and against an address making
 *   the server pay one argon2 verification per made-up client id.
 *
 * Neither counts failures from other addresses, so no one can lock a client
 * out from an address they do not share with it. A correct generated secret,
 * and a chosen one verified within the last 15 minutes, are accepted without
 * asking the brakes at all (src/oidc/client-authentication.ts).
 */
export const CLIENT_AUTH_RULES = {
  clientAndAddress: { limit: 10, windowSeconds: 60 },
  address: { limit: 100, windowSeconds: 60 },
} as const satisfies Record<string, FailureRule>;

export interface ClientAuthAttempt {
  realm: string;
  /** The client id exactly as the request sent it. */
  clientId: string;
  /** The request's address (`ctx.ip`: the socket, or X-Forwarded-For behind a trusted proxy). */
  ip: string;
}

export interface ClientAuthLimiters {
  /** Seconds before this attempt may be checked, 0 when it may. */
  retryAfter(attempt: ClientAuthAttempt): number;
  recordFailure(attempt: ClientAuthAttempt): void;
  /** Takes back a failure counted ahead of a check that succeeded. */
  forgive(attempt: ClientAuthAttempt): void;
}

/**
 * Created once per process by the composition root (src/latchkey.ts) and
 * shared by every realm's provider, so a key rotation, which rebuilds the
 * providers, keeps the counts.
 */
export function createClientAuthLimiters(rules: { [K in keyof typeof CLIENT_AUTH_RULES]: FailureRule } = CLIENT_AUTH_RULES, { now }: { now?: () => number } = {}): ClientAuthLimiters {
  const clientAndAddress = new FailureLimiter(rules.clientAndAddress, { now });
  const address = new FailureLimiter(rules.address, { now });
  const keys = ({ realm, clientId, ip }: ClientAuthAttempt) => {
    const from = addressKey(ip);
    return { pair: `${realm}\0${clientId}\0${from}`, from };
  };
  return {
    retryAfter(attempt) {
      const { pair, from } = keys(attempt);
      return Math.max(clientAndAddress.retryAfter(pair), address.retryAfter(from));
    },
    recordFailure(attempt) {
      const { pair, from } = keys(attempt);
      clientAndAddress.recordFailure(pair);
      address.recordFailure(from);
    },
    forgive(attempt) {
      const { pair, from } = keys(attempt);
      clientAndAddress.forgive(pair);
      address.forgive(from);
    },
  };
}
