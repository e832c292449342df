import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Secrets the server itself needs, persisted beside the signing keys so that
 * browser sessions survive restarts and all instances agree:
 * - cookie keys sign oidc-provider's cookies (first key signs, all verify);
 * - the digest key keys the HMAC under which generated client secrets are stored.
 */
export interface ServerSecrets {
  cookieKeys: string[];
  digestKey: Buffer;
}

const FILE = 'server-secrets.json';

export async function loadServerSecrets(keysDir: string, cookieKeysOverride?: readonly string[]): Promise<ServerSecrets> {
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  const file = path.join(keysDir, FILE);
  let stored: { cookie_keys: string[]; digest_key: string };
  try {
    stored = JSON.parse(await readFile(file, 'utf8'));
    if (!Array.isArray(stored.cookie_keys) || typeof stored.digest_key !== 'string') throw new Error('malformed');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      // No cause attached on purpose: JSON.parse errors quote the file's content, i.e. the secrets.
      // eslint-disable-next-line preserve-caught-error
      throw new Error(`${file}: unreadable or malformed server secrets file`);
    }
    stored = {
      cookie_keys: [randomBytes(32).toString('base64url')],
      digest_key: randomBytes(32).toString('base64url'),
    };
    try {
      await writeFile(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    } catch (writeError) {
      // Another instance sharing the directory created it first: use theirs.
      if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError;
      return loadServerSecrets(keysDir, cookieKeysOverride);
    }
  }
  return {
    cookieKeys: cookieKeysOverride?.length ? [...cookieKeysOverride] : stored.cookie_keys,
    digestKey: Buffer.from(stored.digest_key, 'base64url'),
  };
}
