import { isArgon2idHash, type PasswordHasher } from '../accounts/password-hasher.ts';
import { checkClient, describeClientProblem, sameJson, type ClientDeclaration, type ClientProblem } from '../config/index.ts';
import type { Db } from '../store/database.ts';
import { ClientDefinitionError } from '../errors/index.ts';
import { deleteClient, findClient, listClients, upsertClient, type StoredClient } from '../store/client.repository.ts';
import { deleteGrantsOfClient } from '../store/oidc-payload.repository.ts';
import { digestGeneratedSecret, generateClientSecret, isStoredSecretForm } from './client-secrets.ts';

/** A client as declared in the config file or on the command line (RFC 7591 names). */
export interface ClientDefinition {
  client_id: string;
  client_secret?: string | undefined;
  [metadata: string]: unknown;
}

export type PutOutcome = 'created' | 'updated' | 'unchanged';

/** What ClientService throws for a definition the client rules refuse; nothing was stored. */
function refused(problems: readonly ClientProblem[]): ClientDefinitionError<ClientProblem> {
  return new ClientDefinitionError(problems.map(describeClientProblem).join('; '), problems);
}

/**
 * Clients of a realm. Every definition is judged by the client rules that
 * the setup file and the CLI apply, with the same context, so that no path
 * stores a client they would refuse; it is stored with its defaults filled
 * in. Secrets are hashed before they reach the store: generated ones as a
 * keyed digest, chosen ones as argon2id.
 */
export class ClientService {
  readonly #db: Db;
  readonly #hasher: PasswordHasher;
  readonly #digestKey: Buffer;
  readonly #production: boolean;

  /** `production`: NODE_ENV=production, where the rules refuse development conveniences. */
  constructor(db: Db, hasher: PasswordHasher, digestKey: Buffer, { production }: { production: boolean }) {
    this.#db = db;
    this.#hasher = hasher;
    this.#digestKey = digestKey;
    this.#production = production;
  }

  /**
   * Creates or replaces a client from a declaration. Idempotent: the stored
   * hash is kept when the declared secret still verifies against it, and
   * nothing is written when nothing changed.
   * @throws ClientDefinitionError when the rules refuse the definition.
   */
  async put(realm: string, definition: ClientDefinition): Promise<PutOutcome> {
    const { client_id: clientId, client_secret: secret, ...metadata } = this.#judged(definition, false);
    const existing = await findClient(this.#db, realm, clientId);
    const secretHash = await this.#secretHashFor(secret, existing);
    if (existing && secretHash === existing.secret_hash && sameJson(existing.metadata, metadata)) return 'unchanged';
    const created = await upsertClient(this.#db, realm, clientId, metadata, secretHash);
    return created ? 'created' : 'updated';
  }

  /**
   * Adds a client with a generated secret (256 bits), returned once and stored only as a digest.
   * @throws ClientDefinitionError when the rules refuse the definition (one carrying a secret included).
   */
  async addWithGeneratedSecret(realm: string, definition: ClientDefinition): Promise<string> {
    const { client_id: clientId, client_secret: _none, ...metadata } = this.#judged(definition, true);
    const secret = generateClientSecret();
    await upsertClient(this.#db, realm, clientId, metadata, digestGeneratedSecret(secret, this.#digestKey));
    return secret;
  }

  async find(realm: string, clientId: string): Promise<StoredClient | undefined> {
    return findClient(this.#db, realm, clientId);
  }

  async list(realm: string): Promise<StoredClient[]> {
    return listClients(this.#db, realm);
  }

  /** Removes the client and everything issued to it. */
  async remove(realm: string, clientId: string): Promise<boolean> {
    const removed = await deleteClient(this.#db, realm, clientId);
    if (removed) await deleteGrantsOfClient(this.#db, realm, clientId);
    return removed;
  }

  #judged(definition: ClientDefinition, secretGenerated: boolean): ClientDeclaration {
    const check = checkClient(definition, { production: this.#production, secretGenerated });
    if (check.client === undefined) throw refused(check.problems);
    return check.client;
  }

  async #secretHashFor(secret: string | undefined, existing: StoredClient | undefined): Promise<string | null> {
    if (secret === undefined) return null;
    if (isStoredSecretForm(secret)) return secret;
    if (existing?.secret_hash && isArgon2idHash(existing.secret_hash)
      && await this.#hasher.verify(existing.secret_hash, secret)) {
      return existing.secret_hash;
    }
    return this.#hasher.hash(secret);
  }
}
