import { createPublicKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import type { LatchkeyConfig } from '../config/index.ts';
import { KeyChangeRefusedError } from '../errors/index.ts';
import { keyAlgorithmFor, type SigningAlgorithm } from './algorithms.ts';
import { withKeyChangeLock } from './key-lock.ts';
import { readKeyState, writeKeyState, type KeyStatus } from './key-state.ts';
import { generatePrivateKey, keyIdOf, keyOptionsOf, loadKeySet, writeNewKey, type KeySet, type SigningKey } from './signing-keys.ts';

/**
 * The rules of key administration, for `latchkey keys …` and the admin API
 * alike (src/cli/commands/keys.ts, src/admin/key-routes.ts): what a key is
 * shown as, when a key may be generated, and how a staged rotation is
 * scheduled. Both act on the keys folder, where running servers find the
 * change within LATCHKEY_KEY_CHECK_SECONDS (src/latchkey.ts, key watcher);
 * changes take the folder's lock (src/keys/key-lock.ts), so that two of
 * them at once cannot both stage.
 *
 * Staged rotation, per algorithm:
 *
 *   now ──────────── activates_at ────────────────────────── drop_at
 *   new: published     new: signs                              …
 *   old: signs         old: retired (published, verifies)      old: unpublished
 *
 * activates_at = now + the activation delay (longer than the JWKS cache
 * max-age plus the check interval, so every relying party has the new key
 * before it signs); drop_at = activates_at + check interval + the longest
 * lifetime of a signed token + JWKS max-age, so that every token the old key
 * signed expired before it leaves the JWKS.
 */
export interface KeyView {
  kid: string;
  /** RS256/PS256 for RSA keys (one key serves both). */
  alg: string;
  use: 'sig';
  status: KeyStatus;
  signs: boolean;
  /** The file (relative to the keys folder when in it) or keystore entry. */
  source: string;
  /** The file's modification time. */
  created: string;
  activates_at?: string | undefined;
  retires_at?: string | undefined;
  drop_at?: string | undefined;
  /** SHA-256 of the SubjectPublicKeyInfo, base64url. */
  fingerprint: string;
  /** The public members only, as the JWKS publishes them (never `d` or the primes). */
  public_jwk: JWK;
}

export interface StagedKey {
  alg: SigningAlgorithm;
  kid: string;
  /** The keys it replaces: they stop signing at activates_at and leave the JWKS at drop_at. */
  replaces: string[];
}

export interface Rotation {
  delay_seconds: number;
  activates_at: string;
  drop_at: string;
  staged: StagedKey[];
  /** Set when the delay is shorter than relying parties need to fetch the new key first. */
  warning?: string | undefined;
}

export interface KeyAdministrationDeps {
  config: Pick<LatchkeyConfig, 'keysDir' | 'keys'>;
  /** The longest lifetime, in seconds, of a token the keys sign (src/oidc/signed-token-lifetime.ts): what a retired key must outlive. */
  longestSignedTokenLifetime: () => Promise<number>;
}

export class KeyAdministration {
  readonly #config: KeyAdministrationDeps['config'];
  readonly #longestSignedTokenLifetime: () => Promise<number>;

  constructor({ config, longestSignedTokenLifetime }: KeyAdministrationDeps) {
    this.#config = config;
    this.#longestSignedTokenLifetime = longestSignedTokenLifetime;
  }

  /** Every key found, expired ones included; never generates one. */
  async list(): Promise<KeyView[]> {
    return (await this.#keySet(false)).all.map((key) => this.#view(key));
  }

  /**
   * Adds a key for an algorithm that has no signing key yet; it signs at once.
   * @throws KeyChangeRefusedError when the algorithm already has a signing key (rotate it instead)
   */
  async generate(requested: SigningAlgorithm): Promise<KeyView> {
    // One RSA key serves RS256 and PS256.
    const alg = keyAlgorithmFor(requested);
    return withKeyChangeLock(this.#config.keysDir, async () => {
      const keys = await this.#keySet(true);
      if (keys.all.some((k) => k.alg === alg && k.signs)) throw new KeyChangeRefusedError('has-signer', `${alg} already has a signing key; rotate it to replace it`, alg);
      const file = await this.#writeKey(alg, new Date());
      return this.#view((await this.#keySet(false)).all.find((k) => k.source === file)!);
    });
  }

  /**
   * Stages the replacement of the signing key of each algorithm given (all
   * that sign when none is), activating after `delaySeconds` (the configured
   * activation delay when undefined; 0 signs at once, e.g. after a key was
   * compromised).
   * @throws KeyChangeRefusedError for an algorithm without a signing key, or one with a rotation already staged
   */
  async rotate({ algorithms, delaySeconds }: { algorithms?: readonly SigningAlgorithm[] | undefined; delaySeconds?: number | undefined } = {}): Promise<Rotation> {
    const { keysDir, keys: settings } = this.#config;
    const delay = delaySeconds ?? settings.activationDelaySeconds;
    return withKeyChangeLock(keysDir, async () => {
      const keys = await this.#keySet(true);
      const signers = keys.all.filter((k) => k.signs);
      const algs = algorithms?.length ? [...new Set(algorithms.map(keyAlgorithmFor))] : [...new Set(signers.map((k) => k.alg as SigningAlgorithm))];
      for (const alg of algs) {
        if (!signers.some((k) => k.alg === alg)) throw new KeyChangeRefusedError('no-signer', `${alg} has no signing key to rotate; generate one`, alg);
      }
      const staged = keys.all.find((k) => k.status === 'next' && algs.includes(k.alg as SigningAlgorithm));
      if (staged) throw new KeyChangeRefusedError('staged', `a rotation is already staged for ${staged.alg} (${staged.kid}); wait until it is active`, staged.alg);

      // The replaced key signs until activatesAt (plus the time instances take to
      // notice) and stays published until the last token it signed expired. Not
      // only ID tokens: JWT access tokens (RFC 9068) are signed with the same keys
      // and may live far longer (a resource server's own lifetime, a client's
      // ttl); unpublished before they expire, resource servers reject them and
      // introspection answers inactive. Clients and resource servers added at
      // run time are only in the database, so this reads it.
      const longestToken = await this.#longestSignedTokenLifetime();
      const now = new Date();
      const activatesAt = new Date(now.getTime() + delay * 1000);
      const dropAt = new Date(activatesAt.getTime() + (settings.checkSeconds + longestToken + settings.jwksMaxAgeSeconds) * 1000);

      const before = await readKeyState(keysDir);
      const state = structuredClone(before);
      const rotation: Rotation = { delay_seconds: delay, activates_at: activatesAt.toISOString(), drop_at: dropAt.toISOString(), staged: [] };
      const added: { alg: SigningAlgorithm; privateKey: KeyObject }[] = [];
      for (const alg of algs) {
        const privateKey = generatePrivateKey(alg);
        const kid = await keyIdOf(privateKey);
        state.keys[kid] = { activates_at: rotation.activates_at };
        const replaced = signers.filter((k) => k.alg === alg);
        for (const old of replaced) state.keys[old.kid] = { ...state.keys[old.kid], retires_at: rotation.activates_at, drop_at: rotation.drop_at };
        rotation.staged.push({ alg, kid, replaces: replaced.map((k) => k.kid) });
        added.push({ alg, privateKey });
      }
      // The schedule first, the key files after: a server re-reading the folder
      // in between must never find a new key without its schedule, which it
      // would take for an active key and sign with before relying parties have it.
      await writeKeyState(keysDir, state);
      try {
        for (const { alg, privateKey } of added) await this.#writeKey(alg, now, privateKey);
      } catch (error) {
        // Without its new key, the schedule would retire the old one with no successor.
        await writeKeyState(keysDir, before);
        throw error;
      }
      if (delay < settings.jwksMaxAgeSeconds + settings.checkSeconds) {
        rotation.warning = `a delay of ${delay} s is shorter than the JWKS cache max-age plus the check interval; relying parties may not have the new key when it starts signing`;
      }
      return rotation;
    });
  }

  async #keySet(generate: boolean): Promise<KeySet> {
    return loadKeySet(keyOptionsOf(this.#config, { generate }));
  }

  /** A new key file named after its algorithm and time; a second one within the same second (a generate, then a rotate, by a script) gets a suffix. */
  async #writeKey(alg: SigningAlgorithm, now: Date, privateKey?: KeyObject): Promise<string> {
    const stem = `signing-${alg.toLowerCase()}-${now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}`;
    for (let attempt = 1; attempt <= 10; attempt += 1) {
      const file = await writeNewKey(this.#config.keysDir, `${stem}${attempt === 1 ? '' : `-${attempt}`}.pem`, alg, privateKey);
      if (file) return file;
    }
    throw new KeyChangeRefusedError('name-taken', `key files named ${stem}*.pem already exist; try again in a second`, alg);
  }

  #view(key: SigningKey): KeyView {
    const { keysDir } = this.#config;
    const { alg, x5c } = key.jwk;
    // Through Node's public key: whatever members the private JWK has, only public ones come out.
    const publicJwk = createPublicKey({ key: key.jwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ format: 'jwk' }) as JWK;
    return {
      kid: key.kid,
      alg: key.alg === 'RS256' ? 'RS256/PS256' : key.alg,
      use: 'sig',
      status: key.status,
      signs: key.signs,
      source: key.source.startsWith(`${keysDir}/`) ? key.source.slice(keysDir.length + 1) : key.source,
      created: key.modified.toISOString(),
      activates_at: key.schedule?.activates_at,
      retires_at: key.schedule?.retires_at,
      drop_at: key.schedule?.drop_at,
      fingerprint: key.fingerprint,
      public_jwk: { ...publicJwk, kid: key.kid, use: 'sig', ...(alg ? { alg } : {}), ...(x5c ? { x5c } : {}) },
    };
  }
}
