import { isArgon2idHash, type PasswordHasher } from '../accounts/password-hasher.ts';
import {
  checkClient, describeClientProblem, sameJson, withIssuedSecretMethod, type ClientDeclaration, type ClientProblem,
} from '../config/index.ts';
import type { Db } from '../store/database.ts';
import { ClientDefinitionError, ClientExistsError, ClientHasNoSecretError, ClientNotFoundError } from '../errors/index.ts';
import {
  countClients, deleteClient, findClient, insertClient, listClients, listClientsPage, rotateClientSecret, setClientDisabled, updateClient,
  upsertClient, type StoredClient,
} from '../store/client.repository.ts';
import { deleteIssued, TOKEN_MODELS } from '../store/issued-token.repository.ts';
import { deleteGrantsOfClient } from '../store/oidc-payload.repository.ts';
import type { ClientChanges } from './client-changes.ts';
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
  readonly #changes: ClientChanges | undefined;

  /**
   * `production`: NODE_ENV=production, where the rules refuse development conveniences.
   * `changes`: this process's client caches, told of every change (src/clients/client-changes.ts).
   */
  constructor(db: Db, hasher: PasswordHasher, digestKey: Buffer, { production, changes }: { production: boolean; changes?: ClientChanges | undefined }) {
    this.#changes = changes;
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
    this.#changed(realm, clientId);
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
    this.#changed(realm, clientId);
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
    this.#changed(realm, clientId);
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
    this.#changed(realm, clientId);
    return (await findClient(this.#db, realm, clientId))!;
  }

  /**
   * Adds a client registered through RFC 7591 (src/oidc/client-registration.ts):
   * the engine issued its secret, if its method uses one, and shows it to
   * the registrant once; only its digest is stored, as for a secret
   * generated here.
   * @throws ClientDefinitionError, ClientExistsError
   */
  async addRegistered(realm: string, definition: ClientDefinition, issuedSecret: string | undefined): Promise<StoredClient> {
    const { client_id: clientId, client_secret: _none, ...metadata } = this.#judged(realm, definition, issuedSecret !== undefined);
    const added = await insertClient(this.#db, realm, clientId, metadata, issuedSecret === undefined ? null : digestGeneratedSecret(issuedSecret, this.#digestKey));
    if (!added) throw new ClientExistsError(realm, clientId);
    this.#changed(realm, clientId);
    return (await findClient(this.#db, realm, clientId))!;
  }

  /**
   * What the rules make of a definition (defaults filled in), without
   * storing it: registration shows the engine the client as it will be stored.
   * @throws ClientDefinitionError
   */
  judge(realm: string, definition: ClientDefinition, { secretGenerated }: { secretGenerated: boolean }): ClientDeclaration {
    return this.#judged(realm, definition, secretGenerated);
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
    const removed = await this.#db.atomically(async () => {
      const found = await deleteClient(this.#db, realm, clientId);
      if (found) await deleteGrantsOfClient(this.#db, realm, clientId);
      return found;
    });
    this.#changed(realm, clientId);
    return removed;
  }

  /**
   * Disables a client (the engine then knows it no more: no sign-in, no
   * token, no introspection by it) and revokes everything issued to it, as
   * disabling a user does; or enables it again, with nothing to bring back.
   * A client declared in the setup file keeps this state across restarts.
   * @throws ClientNotFoundError
   */
  async setDisabled(realm: string, clientId: string, disabled: boolean): Promise<StoredClient> {
    await this.#db.atomically(async () => {
      if (!(await setClientDisabled(this.#db, realm, clientId, disabled))) throw new ClientNotFoundError(realm, clientId);
      if (disabled) await deleteIssued(this.#db, realm, { models: [...TOKEN_MODELS, 'Grant'], clientId }, []);
    });
    this.#changed(realm, clientId);
    return (await findClient(this.#db, realm, clientId))!;
  }

  /**
   * Gives a client a new generated secret (256 bits, returned here once,
   * stored as a digest) and keeps accepting the one it had for
   * `overlapSeconds` (0: not at all), so that its deployments can switch
   * over without an outage. Only one previous secret is kept: a second
   * rotation within the overlap drops the first one at once. Tokens stay.
   * A client declared in the setup file with its secret gets the declared
   * secret back at the next start.
   * @throws ClientNotFoundError, ClientHasNoSecretError
   */
  async rotateSecret(realm: string, clientId: string, overlapSeconds: number): Promise<{ client: StoredClient; secret: string }> {
    const secret = generateClientSecret();
    const client = await rotateClientSecret(this.#db, realm, clientId, digestGeneratedSecret(secret, this.#digestKey), overlapSeconds);
    if (!client) {
      if (await findClient(this.#db, realm, clientId)) throw new ClientHasNoSecretError(realm, clientId);
      throw new ClientNotFoundError(realm, clientId);
    }
    this.#changed(realm, clientId);
    return { client, secret };
  }

  /** Tells this process's client caches now, and again once the request's transaction has committed (see ClientChanges). */
  #changed(realm: string, clientId: string): void {
    const changes = this.#changes;
    if (!changes) return;
    changes.changed(realm, clientId);
    this.#db.afterCommit(() => changes.changed(realm, clientId));
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
