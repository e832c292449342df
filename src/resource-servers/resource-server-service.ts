import { checkResourceServer, type ResourceServerDeclaration } from '../config/resource-server-rules.ts';
import { ResourceServerDefinitionError } from '../errors/index.ts';
import type { Db } from '../store/database.ts';
import {
  deleteResourceServer,
  findResourceServer,
  listResourceServers,
  upsertResourceServer,
  type StoredResourceServer,
} from '../store/resource-server.repository.ts';

export type { ResourceServerDeclaration } from '../config/resource-server-rules.ts';

export type ResourceServerPutOutcome = 'created' | 'updated' | 'unchanged';

/**
 * The APIs of a realm that access tokens are issued for (RFC 8707). Every
 * definition is judged by the resource-server rules the setup file and the
 * CLI apply, so no path stores one they would refuse.
 */
export class ResourceServerService {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /**
   * Creates or replaces a resource server. Idempotent: nothing is written when nothing changed.
   * @throws ResourceServerDefinitionError when the rules refuse the definition.
   */
  async put(realm: string, definition: Record<string, unknown>): Promise<ResourceServerPutOutcome> {
    const check = checkResourceServer(definition);
    if (check.server === undefined) {
      throw new ResourceServerDefinitionError(check.problems.map((p) => `${p.field}: ${p.message}`).join('; '));
    }
    const server = check.server;
    const fields = {
      scopes: server.scopes,
      token_format: server.access_token.format,
      token_lifetime: server.access_token.lifetime ?? null,
      signing_alg: server.access_token.algorithm,
    };
    const existing = await findResourceServer(this.#db, realm, server.identifier);
    if (existing && JSON.stringify(declarationOf(existing)) === JSON.stringify(declarationOf({ identifier: server.identifier, ...fields }))) {
      return 'unchanged';
    }
    return (await upsertResourceServer(this.#db, realm, server.identifier, fields)) ? 'created' : 'updated';
  }

  async find(realm: string, identifier: string): Promise<ResourceServerDeclaration | undefined> {
    const stored = await findResourceServer(this.#db, realm, identifier);
    return stored && declarationOf(stored);
  }

  async list(realm: string): Promise<ResourceServerDeclaration[]> {
    return (await listResourceServers(this.#db, realm)).map(declarationOf);
  }

  /** Removes a resource server; tokens already issued for it stay valid until they expire or are revoked. */
  async remove(realm: string, identifier: string): Promise<boolean> {
    return deleteResourceServer(this.#db, realm, identifier);
  }
}

function declarationOf(stored: Pick<StoredResourceServer, 'identifier' | 'scopes' | 'token_format' | 'token_lifetime' | 'signing_alg'>): ResourceServerDeclaration {
  return {
    identifier: stored.identifier,
    scopes: [...stored.scopes],
    access_token: {
      format: stored.token_format,
      ...(stored.token_lifetime === null ? {} : { lifetime: stored.token_lifetime }),
      algorithm: stored.signing_alg as ResourceServerDeclaration['access_token']['algorithm'],
    },
  };
}
