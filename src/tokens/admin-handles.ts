import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from 'node:crypto';

/**
 * Opaque names for rows of oidc_payloads in the admin API (a token, a
 * consent, a session), so that an operator can revoke the one a listing
 * showed without ever seeing its database id: that id is a digest of the
 * token or cookie value, and a digest is no more to be shown than the value
 * (it would confirm a guessed or leaked token offline).
 *
 * A handle is the model and id sealed with AES-256-GCM under a key derived
 * from the server's digest key, so every instance reads every other's
 * handles and they survive restarts. The nonce is a MAC of the sealed text
 * (a synthetic IV), so the same row always gets the same handle: lists can
 * be compared, and no nonce is ever reused for different text. Only this
 * server can make a handle that opens: any other string is "not found".
 */
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const MAX_HANDLE_LENGTH = 512;

export interface SealedRow {
  model: string;
  id: string;
}

export class AdminHandles {
  readonly #encryptionKey: Buffer;
  readonly #nonceKey: Buffer;

  constructor(digestKey: Buffer) {
    this.#encryptionKey = Buffer.from(hkdfSync('sha256', digestKey, Buffer.alloc(0), 'latchkey admin handles: encryption', 32));
    this.#nonceKey = Buffer.from(hkdfSync('sha256', digestKey, Buffer.alloc(0), 'latchkey admin handles: nonce', 32));
  }

  seal({ model, id }: SealedRow): string {
    const text = Buffer.from(`${model}\0${id}`, 'utf8');
    const nonce = createHmac('sha256', this.#nonceKey).update(text).digest().subarray(0, NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#encryptionKey, nonce);
    const sealed = Buffer.concat([nonce, cipher.update(text), cipher.final(), cipher.getAuthTag()]);
    return sealed.toString('base64url');
  }

  /** The row a handle names, if this server made it and it names one of `models`; undefined for anything else. */
  open(handle: string, models: readonly string[]): SealedRow | undefined {
    if (handle.length > MAX_HANDLE_LENGTH || !/^[A-Za-z0-9_-]+$/.test(handle)) return undefined;
    const sealed = Buffer.from(handle, 'base64url');
    if (sealed.length <= NONCE_BYTES + TAG_BYTES) return undefined;
    const nonce = sealed.subarray(0, NONCE_BYTES);
    const tag = sealed.subarray(sealed.length - TAG_BYTES);
    let text: string;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#encryptionKey, nonce);
      decipher.setAuthTag(tag);
      text = Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
    const [model, id, ...rest] = text.split('\0');
    if (model === undefined || id === undefined || rest.length || !models.includes(model)) return undefined;
    return { model, id };
  }
}
