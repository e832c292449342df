import type { Logger } from 'pino';
import { describeKeycloakImport, needsAttention, sameJson, type DeclarativeSetup, type LatchkeyConfig } from '../config/index.ts';
import type { RealmSettings } from '../oidc/provider-factory.ts';
import { realmList } from '../oidc/realm-list.ts';
import { applySetup, type SetupReport } from './realm-setup.ts';

/**
 * The setup file, applied: at every start (src/latchkey.ts), and again on
 * request through the admin API, with the same reading and validation
 * (src/config/load-config.ts readSetupFile), the same idempotent apply
 * (src/realms/realm-setup.ts applySetup: one transaction, under the setup
 * lock) and the same report, logged alike.
 *
 * A running server applies live only what it reads live: the clients,
 * users and resource servers of the realms it serves. What it built its
 * providers from at start (realms, their layouts and aliases, lifetimes,
 * branding, the password-grant switch) is compared with the file and each
 * difference named as needing a restart; a new realm is not applied at all
 * (its clients would be stored for a realm nobody serves), so nothing is
 * half-applied. Keys are not in the file: they change through `keys`.
 */
export interface Reapplication {
  file: string;
  /** Per realm applied, as the start logs it: created, updated, unchanged. */
  applied: SetupReport[];
  /** What differs from what the server runs and takes effect only after a restart. */
  needs_restart: { realm: string; change: string }[];
}

export interface SetupApplicationDeps {
  config: LatchkeyConfig;
  services: Parameters<typeof applySetup>[1];
  /** Reads and validates the file again (throws ConfigError naming the field). */
  readSetup: () => Promise<DeclarativeSetup>;
  logger: Logger;
}

export class SetupApplication {
  readonly #deps: SetupApplicationDeps;
  readonly #running: readonly RealmSettings[];

  constructor(deps: SetupApplicationDeps) {
    this.#deps = deps;
    this.#running = realmList(deps.config);
  }

  /** The file read at start, applied and logged. */
  async atStart(): Promise<SetupReport[]> {
    const { config, logger } = this.#deps;
    const reports = await this.#apply(config.setup);
    if (config.setup.keycloak) {
      // Once per start: what of the Keycloak export LATCHKEY_CONFIG names was not imported, and why.
      const level = needsAttention(config.setup.keycloak) ? 'warn' : 'info';
      logger[level]({ keycloak: describeKeycloakImport(config.setup.keycloak) }, 'Keycloak realm export translated');
    }
    return reports;
  }

  /**
   * Reads the file again and applies what a running server can take.
   * @throws ConfigError when the file no longer validates: then nothing is applied
   */
  async reapply(): Promise<Reapplication> {
    const setup = await this.#deps.readSetup();
    const next = realmList({ ...this.#deps.config, setup });
    const served = new Set(this.#running.map((realm) => realm.name));
    const needsRestart: Reapplication['needs_restart'] = [];
    for (const name of new Set(next.map((realm) => realm.name))) {
      if (!served.has(name)) needsRestart.push({ realm: name, change: 'a new realm: served after a restart; nothing of it was applied' });
    }
    for (const name of served) {
      const now = this.#running.filter((realm) => realm.name === name);
      const then = next.filter((realm) => realm.name === name);
      if (then.length === 0) {
        needsRestart.push({ realm: name, change: 'no longer in the file: served until a restart; nothing of it is removed' });
        continue;
      }
      for (const change of differences(now, then)) needsRestart.push({ realm: name, change });
    }
    const applied = await this.#apply({ realms: setup.realms.filter((realm) => served.has(realm.name)) });
    return { file: this.#deps.config.configFile, applied, needs_restart: needsRestart };
  }

  async #apply(setup: DeclarativeSetup): Promise<SetupReport[]> {
    const reports = await applySetup(setup, this.#deps.services);
    for (const report of reports) this.#deps.logger.info(report, 'declarative setup applied');
    return reports;
  }
}

/** What of a realm's settings, the ones its providers were built from, the file now says otherwise. */
function differences(now: readonly RealmSettings[], then: readonly RealmSettings[]): string[] {
  const issuers = (realms: readonly RealmSettings[]) => realms.map((realm) => ({ issuer: realm.issuer, layout: realm.layout }));
  const [current, declared] = [now[0]!, then[0]!];
  return [
    !sameJson(issuers(now), issuers(then)) && 'layout or aliases (issuers, endpoint paths)',
    !sameJson(current.lifetimes, declared.lifetimes) && 'token lifetimes (ttl)',
    !sameJson(current.branding ?? null, declared.branding ?? null) && 'branding',
    (current.passwordGrantForPublicClients ?? false) !== (declared.passwordGrantForPublicClients ?? false) && 'allow_password_grant_for_public_clients',
  ].filter((change): change is string => typeof change === 'string');
}
