import type { Db } from '../store/database.ts';
import { consumePayload } from '../store/oidc-payload.repository.ts';
import { digest } from './payload-adapter.ts';

/**
 * Claims on a realm's interactions, so that a step submitted several times
 * at once (a double-clicked button, a browser retrying a POST) takes effect
 * once. A claim marks the Interaction row; inside a unit of work it holds the
 * row until the unit settles, so a concurrent claim waits for the outcome:
 * it loses if the first one committed, and wins if the first one rolled back.
 */
export interface InteractionClaims {
  /** True for exactly one of any number of concurrent consent submissions of one interaction. */
  claimConsent(uid: string): Promise<boolean>;
}

export function interactionClaims(db: Db, realm: string): InteractionClaims {
  return {
    claimConsent: (uid) => consumePayload(db, realm, 'Interaction', digest(uid)),
  };
}
