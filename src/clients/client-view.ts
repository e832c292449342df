import { isArgon2idHash } from '../accounts/password-hasher.ts';
import type { StoredClient } from '../store/client.repository.ts';

/**
 * What may be shown of a client, wherever it is shown (`latchkey clients
 * list --json`, the admin API): its metadata and how its secret is stored,
 * never the secret or its hash.
 */
export type ClientView = Record<string, unknown> & {
  client_id: string;
  disabled: boolean;
  secret_storage: SecretStorage | null;
  /** Until when the secret before the last rotation is still accepted; null when none is. */
  previous_secret_expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

/** hmac-sha256 for a secret Latchkey generated, argon2id for one a person chose; null without a secret. */
export type SecretStorage = 'hmac-sha256' | 'argon2id';

export function clientView(client: StoredClient): ClientView {
  const now = new Date();
  const { client_secret: _never, ...metadata } = client.metadata as Record<string, unknown>;
  const previousUntil = client.previous_secret_hash && client.previous_secret_expires_at && client.previous_secret_expires_at > now
    ? client.previous_secret_expires_at
    : null;
  return {
    client_id: client.client_id,
    ...metadata,
    disabled: client.disabled_at !== null,
    secret_storage: secretStorage(client.secret_hash),
    previous_secret_expires_at: previousUntil,
    created_at: client.created_at,
    updated_at: client.updated_at,
  };
}

function secretStorage(hash: string | null): SecretStorage | null {
  if (!hash) return null;
  return isArgon2idHash(hash) ? 'argon2id' : 'hmac-sha256';
}
