import { isArgon2idHash, type PasswordHasher } from '../accounts/password-hasher.ts';
import {
  checkClient, describeClientProblem, sameJson, withIssuedSecretMethod, type ClientDeclaration, type ClientProblem,
} from '../config/index.ts';
import type { Db } from '../store/database.ts';
import { ClientDefinitionError, ClientExistsError, ClientNotFoundError } from '../errors/index.ts';
import {
  countClients, deleteClient, findClient, insertClient, listClients, listClientsPage, updateClient, upsertClient, type StoredClient,
} from '../store/client.repository.ts';
import { deleteGrantsOfClient } from '../store/oidc-payload.repository.ts';
import { digestGeneratedSecret, generateClientSecret, isStoredSecretForm } from './client-secrets.ts';

/** A client as declared in the config file or on the command line (RFC 7591 names). */
export interface ClientDefinition {
  client_id: string;
  client_secret?: string | undefined;
  [metadata: string]: unknown;
}

export type PutOutcome = 'created' | 'updated' | 'unchanged';

/** Auth methods that authenticate with the client secret. */
const SECRET_METHODS: readonly unknown[] = ['client_secret_basic', 'client_secret_post'];

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
    const { client_id: clientId, client_secret: secret, ...metadata } = this.#judged(realm, definition, false);
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
    const { client_id: clientId, client_secret: _none, ...metadata } = this.#judged(realm, definition, true);
    const secret = generateClientSecret();
    await upsertClient(this.#db, realm, clientId, metadata, digestGeneratedSecret(secret, this.#digestKey));
    return secret;
  }

  /**
   * Adds a new client whose secret, if its auth method uses one, Latchkey
   * generates (256 bits): returned here once, stored only as a digest. The
   * auth method, when the definition names none, is picked as the CLI picks
   * it (withIssuedSecretMethod).
   * @throws ClientDefinitionError when the rules refuse the definition (one carrying a secret included)
   * @throws ClientExistsError when the realm has a client with that id
   */
  async create(realm: string, definition: ClientDefinition): Promise<{ client: StoredClient; secret: string | undefined }> {
    const { definition: issued, generateSecret } = withIssuedSecretMethod(definition);
    const { client_id: clientId, client_secret: _none, ...metadata } = this.#judged(realm, issued, generateSecret);
    const secret = generateSecret ? generateClientSecret() : undefined;
    const added = await insertClient(this.#db, realm, clientId, metadata, secret === undefined ? null : digestGeneratedSecret(secret, this.#digestKey));
    if (!added) throw new ClientExistsError(realm, clientId);
    return { client: (await findClient(this.#db, realm, clientId))!, secret };
  }

  /**
   * Replaces a client's metadata and keeps its secret, which a definition
   * never carries here (it is Latchkey's to issue). Without
   * token_endpoint_auth_method the client keeps its method. A method that
   * uses a secret needs the client to have one; a method that uses none
   * drops the one it had. Tokens already issued stay valid.
   * @throws ClientNotFoundError, ClientDefinitionError
   */
  async update(realm: string, clientId: string, definition: Omit<ClientDefinition, 'client_id'>): Promise<StoredClient> {
    const existing = await findClient(this.#db, realm, clientId);
    if (!existing) throw new ClientNotFoundError(realm, clientId);
    const method = definition['token_endpoint_auth_method'] ?? existing.metadata['token_endpoint_auth_method'];
    const usesSecret = SECRET_METHODS.includes(method);
    if (usesSecret && !existing.secret_hash) {
      throw refused([{ field: 'token_endpoint_auth_method', message: `${String(method)} needs a client secret, and this client has none: add it anew to have one generated` }]);
    }
    const { client_id: _id, client_secret: _none, ...metadata } = this.#judged(realm, { ...definition, client_id: clientId, token_endpoint_auth_method: method }, usesSecret);
    await updateClient(this.#db, realm, clientId, metadata, usesSecret ? existing.secret_hash : null);
    return (await findClient(this.#db, realm, clientId))!;
  }

  async find(realm: string, clientId: string): Promise<StoredClient | undefined> {
    return findClient(this.#db, realm, clientId);
  }

  async list(realm: string): Promise<StoredClient[]> {
    return listClients(this.#db, realm);
  }

  async count(realm: string): Promise<number> {
    return countClients(this.#db, realm);
  }

  /** One page of the realm's clients in client_id order, starting after `after` (keyset pagination). */
  async page(realm: string, { after, limit }: { after?: string | undefined; limit: number }): Promise<StoredClient[]> {
    return listClientsPage(this.#db, realm, { after, limit });
  }

  /** Removes the client and everything issued to it. */
  async remove(realm: string, clientId: string): Promise<boolean> {
    const removed = await deleteClient(this.#db, realm, clientId);
    if (removed) await deleteGrantsOfClient(this.#db, realm, clientId);
    return removed;
  }

  #judged(realm: string, definition: ClientDefinition, secretGenerated: boolean): ClientDeclaration {
    const check = checkClient(definition, { production: this.#production, secretGenerated, realm });
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
