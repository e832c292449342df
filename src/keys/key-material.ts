import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import forge from 'node-forge';
import { KeyLoadError } from '../errors/index.ts';

/**
 * Reads private keys (and their certificates) from the formats people bring:
 * PEM (PKCS#8, PKCS#1, SEC1, encrypted PKCS#8) and PKCS#12 keystores as made
 * by `openssl pkcs12 -export` (current and -legacy) and Java's keytool.
 * Every failure is a KeyLoadError naming the file and the cause, never the
 * passphrase or key material.
 */

export interface KeyEntry {
  /** The file, or `file#alias` for a keystore entry. */
  source: string;
  alias?: string | undefined;
  privateKey: KeyObject;
  /** The leaf certificate first, when the material carries one. */
  certificates: X509Certificate[];
}

export interface Secrets {
  /** Passphrase of encrypted PEM files. */
  pemPassphrase?: string | undefined;
  /** Store password of PKCS#12 files. */
  keystorePassword?: string | undefined;
  /** Password of the keys inside a keystore, when it differs from the store's. */
  keyPassword?: string | undefined;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

export function isKeystoreFile(file: string): boolean {
  return /\.(p12|pfx)$/i.test(file);
}

export async function readKeyFile(file: string, secrets: Secrets): Promise<KeyEntry[]> {
  let content: Buffer;
  try {
    content = await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KeyLoadError(`${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'file is not readable (permissions)' : `cannot be read (${code})`}`);
  }
  if (content.length === 0) throw new KeyLoadError(`${file}: the file is empty`);
  return isKeystoreFile(file) ? readKeystore(file, content, secrets) : [readPem(file, content.toString('latin1'), secrets)];
}

function readPem(file: string, text: string, secrets: Secrets): KeyEntry {
  const blocks = [...text.matchAll(PEM_BLOCK)].map(([block, label]) => ({ block, label: label! }));
  const keyBlocks = blocks.filter((b) => b.label.endsWith('PRIVATE KEY'));
  if (keyBlocks.length === 0) {
    if (blocks.some((b) => b.label === 'PUBLIC KEY' || b.label === 'RSA PUBLIC KEY' || b.label === 'CERTIFICATE')) {
      throw new KeyLoadError(`${file}: holds no private key (a public key or certificate alone cannot sign)`);
    }
    throw new KeyLoadError(`${file}: not a PEM private key (truncated or corrupt?)`);
  }
  if (keyBlocks.length > 1) throw new KeyLoadError(`${file}: holds ${keyBlocks.length} private keys; put each key in its own file`);
  const [{ block, label }] = keyBlocks as [{ block: string; label: string }];

  let privateKey: KeyObject;
  if (label === 'ENCRYPTED PRIVATE KEY') {
    if (!secrets.pemPassphrase) throw new KeyLoadError(`${file}: the key is encrypted; set LATCHKEY_KEY_PASSPHRASE or LATCHKEY_KEY_PASSPHRASE_FILE`);
    try {
      privateKey = createPrivateKey({ key: block, format: 'pem', passphrase: secrets.pemPassphrase });
    } catch {
      throw new KeyLoadError(`${file}: wrong passphrase, or the encrypted key is corrupt`);
    }
  } else {
    if (/Proc-Type: 4,ENCRYPTED/.test(block)) {
      if (!secrets.pemPassphrase) throw new KeyLoadError(`${file}: the key is encrypted; set LATCHKEY_KEY_PASSPHRASE or LATCHKEY_KEY_PASSPHRASE_FILE`);
    }
    try {
      privateKey = createPrivateKey({ key: block, format: 'pem', ...(secrets.pemPassphrase ? { passphrase: secrets.pemPassphrase } : {}) });
    } catch {
      throw new KeyLoadError(`${file}: the private key cannot be parsed (truncated or corrupt?)`);
    }
  }
  const certificates = blocks.filter((b) => b.label === 'CERTIFICATE').map((b, i) => {
    try {
      return new X509Certificate(b.block);
    } catch {
      throw new KeyLoadError(`${file}: certificate ${i + 1} cannot be parsed`);
    }
  });
  return withCheckedCertificates({ source: file, privateKey, certificates });
}

function readKeystore(file: string, content: Buffer, secrets: Secrets): KeyEntry[] {
  if (secrets.keystorePassword === undefined) {
    throw new KeyLoadError(`${file}: a PKCS#12 keystore needs its password; set LATCHKEY_KEYSTORE_PASSWORD or LATCHKEY_KEYSTORE_PASSWORD_FILE`);
  }
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(content.toString('binary')), secrets.keystorePassword);
  } catch (error) {
    const message = (error as Error).message ?? '';
    if (/MAC could not be verified|Invalid password/i.test(message)) throw new KeyLoadError(`${file}: wrong keystore password`);
    throw new KeyLoadError(`${file}: not a readable PKCS#12 keystore (truncated or corrupt?)`);
  }
  const oids = forge.pki.oids;
  const keyBags = [
    ...(p12.getBags({ bagType: oids.pkcs8ShroudedKeyBag! })[oids.pkcs8ShroudedKeyBag!] ?? []),
    ...(p12.getBags({ bagType: oids.keyBag! })[oids.keyBag!] ?? []),
  ];
  if (keyBags.length === 0) throw new KeyLoadError(`${file}: the keystore holds no private key (only certificates?)`);
  const certBags = p12.getBags({ bagType: oids.certBag! })[oids.certBag!] ?? [];

  const keyPassword = secrets.keyPassword ?? secrets.keystorePassword;
  return keyBags.map((bag, index) => {
    const alias = bag.attributes['friendlyName']?.[0] as string | undefined;
    const source = `${file}#${alias ?? index + 1}`;
    const privateKey = keyFromBag(bag, keyPassword, source);
    const localKeyId = bag.attributes['localKeyId']?.[0] as string | undefined;
    const certificates = certBags
      .filter((c) => localKeyId !== undefined && c.attributes['localKeyId']?.[0] === localKeyId)
      .map((c) => certificateFromBag(c, source));
    return withCheckedCertificates({ source, alias, privateKey, certificates });
  });
}

/**
 * forge decrypts RSA keys itself; for EC and Ed25519 keys, and for the
 * PBES2/AES encryption Java's keytool uses, it hands back the ASN.1, which
 * OpenSSL (node:crypto) reads as PKCS#8, encrypted or not.
 */
function keyFromBag(bag: forge.pkcs12.Bag, password: string, source: string): KeyObject {
  try {
    if (bag.key) return createPrivateKey(forge.pki.privateKeyToPem(bag.key));
    const der = Buffer.from(forge.asn1.toDer(bag.asn1!).getBytes(), 'binary');
    try {
      return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    } catch {
      return createPrivateKey({ key: der, format: 'der', type: 'pkcs8', passphrase: password });
    }
  } catch {
    throw new KeyLoadError(`${source}: the key cannot be decrypted (wrong key password? set LATCHKEY_KEY_PASSWORD when it differs from the store's)`);
  }
}

function certificateFromBag(bag: forge.pkcs12.Bag, source: string): X509Certificate {
  try {
    // forge parses RSA certificates only; for the others it keeps the certificate's ASN.1.
    const asn1 = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : bag.asn1!;
    return new X509Certificate(Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary'));
  } catch {
    throw new KeyLoadError(`${source}: its certificate cannot be parsed`);
  }
}

function withCheckedCertificates(entry: KeyEntry): KeyEntry {
  const [leaf] = entry.certificates;
  if (leaf) {
    const fromKey = createPublicKey(entry.privateKey).export({ format: 'der', type: 'spki' });
    const fromCert = leaf.publicKey.export({ format: 'der', type: 'spki' });
    if (!fromKey.equals(fromCert)) throw new KeyLoadError(`${entry.source}: the certificate does not belong to the private key`);
  }
  return entry;
}

export function displayName(file: string, keysDir: string): string {
  const relative = path.relative(keysDir, file);
  return relative.startsWith('..') ? file : relative;
}
