import type { Services } from '../latchkey.ts';
import { ageRealms } from '../store/aging.repository.ts';

/**
 * Time passing for a test, for one server: `advance(seconds)` ages what
 * its realms hold (tokens, codes, sessions, grants, interactions, initial
 * access tokens, a rotated secret's overlap) by that much, so a token of a
 * ten-minute lifetime is expired after `advance(600)` for introspection,
 * refresh and every other check, as it would be ten minutes later.
 *
 * Why not a clock the server reads: oidc-provider reads `Date.now()` itself,
 * and only a patched global `Date` would move it, for every server in the
 * process and for the test runner too. Moving what is stored instead moves
 * this server alone. What it cannot move is what left the server: a signed
 * token's own `exp` (a JWT access or ID token). A resource server under test
 * checks those against its own clock, which the test moves itself (jose's
 * `currentDate`, for one); tokens issued after an advance carry the real
 * time, so there is no one "server time" to hand it.
 */
export class ServerClock {
  readonly #services: Pick<Services, 'database' | 'clientChanges'>;
  readonly #realms: readonly string[];

  constructor(services: Pick<Services, 'database' | 'clientChanges'>, realms: readonly string[]) {
    this.#services = services;
    this.#realms = realms;
  }

  /** Moves this server's present `seconds` (a whole number, at least 1) forward. */
  async advance(seconds: number): Promise<void> {
    if (!Number.isSafeInteger(seconds) || seconds < 1) throw new RangeError('advance: seconds must be a whole number of at least 1');
    const moved = await ageRealms(this.#services.database.db, this.#realms, seconds);
    // The client caches hold a rotated secret's overlap: what moved is forgotten at once.
    for (const { realm, client_id } of moved) this.#services.clientChanges.changed(realm, client_id);
  }
}
