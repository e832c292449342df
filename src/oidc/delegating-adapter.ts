import type { Adapter, AdapterPayload } from 'oidc-provider';

/**
 * An adapter that hands every call to another one; the adapters that only
 * change how a presented value is found (src/oidc/structured-access-tokens.ts,
 * src/oidc/keycloak-shapes.ts) override `find` and nothing else.
 */
export class DelegatingAdapter implements Adapter {
  protected readonly inner: Adapter;

  constructor(inner: Adapter) {
    this.inner = inner;
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return (await this.inner.find(id)) ?? undefined;
  }

  upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    return this.inner.upsert(id, payload, expiresIn) as Promise<void>;
  }

  findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.inner.findByUid(uid) as Promise<AdapterPayload | undefined>;
  }

  findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.inner.findByUserCode(userCode) as Promise<AdapterPayload | undefined>;
  }

  consume(id: string): Promise<void> {
    return this.inner.consume(id) as Promise<void>;
  }

  destroy(id: string): Promise<void> {
    return this.inner.destroy(id) as Promise<void>;
  }

  revokeByGrantId(grantId: string): Promise<void> {
    return this.inner.revokeByGrantId(grantId) as Promise<void>;
  }
}
