import { connect } from 'node:net';
import { mkdir, readFile, writeFile, copyFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { cliSandbox } from '../cli/cli-sandbox.ts';
import { freePort } from '../helpers/latchkey-under-test.ts';
import { keyFixtures, selfSigned } from './key-fixtures.ts';

// Issue 3, "refuse to start, clearly": a bad key or keystore stops `latchkey
// serve` (= npm start) within seconds with exit status 1, one line on stderr
// naming the file and the cause, nothing secret, and no port bound. A real
// process each: the exit status and the absence of a listener are the point.

const sandbox = await cliSandbox(t, { embedded: true });
const f = await keyFixtures(t);
const STORE_PASSWORD = 'store-password-must-not-leak';
const PASSPHRASE = 'pem-passphrase-must-not-leak';

f.openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'rsa.pem');
f.openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', 'rsa1024.pem');
f.openssl('pkey', '-in', 'rsa.pem', '-pubout', '-out', 'public.pem');
f.openssl('pkcs8', '-topk8', '-in', 'rsa.pem', '-v2', 'aes-256-cbc', '-passout', `pass:${PASSPHRASE}`, '-out', 'encrypted.pem');
selfSigned(f, 'rsa.pem', 'rsa.crt');
f.openssl('pkcs12', '-export', '-inkey', 'rsa.pem', '-in', 'rsa.crt', '-name', 'signer', '-passout', `pass:${STORE_PASSWORD}`, '-out', 'store.p12');
f.openssl('pkcs12', '-export', '-nokeys', '-in', 'rsa.crt', '-passout', `pass:${STORE_PASSWORD}`, '-out', 'certs-only.p12');
const rsaPem = await readFile(f.file('rsa.pem'), 'utf8');
await writeFile(f.file('truncated.pem'), rsaPem.slice(0, rsaPem.length / 2));
await writeFile(f.file('corrupt.p12'), Buffer.from('30820a0b020103'.repeat(40), 'hex'));

interface Case {
  name: string;
  files: string[];
  env?: Record<string, string>;
  /** What stderr must say; the file is always named. */
  cause: RegExp;
  names?: string;
}

const cases: Case[] = [
  { name: 'wrong keystore password', files: ['store.p12'], env: { LATCHKEY_KEYSTORE_PASSWORD: 'not-the-password' }, cause: /wrong keystore password/ },
  { name: 'keystore without its password', files: ['store.p12'], cause: /LATCHKEY_KEYSTORE_PASSWORD/ },
  { name: 'wrong PEM passphrase', files: ['encrypted.pem'], env: { LATCHKEY_KEY_PASSPHRASE: 'not-the-passphrase' }, cause: /wrong passphrase/ },
  { name: 'encrypted PEM without a passphrase', files: ['encrypted.pem'], cause: /encrypted; set LATCHKEY_KEY_PASSPHRASE/ },
  { name: 'truncated PEM', files: ['truncated.pem'], cause: /truncated or corrupt/ },
  { name: 'corrupt keystore', files: ['corrupt.p12'], env: { LATCHKEY_KEYSTORE_PASSWORD: STORE_PASSWORD }, cause: /not a readable PKCS#12 keystore/ },
  { name: 'keystore without a private key', files: ['certs-only.p12'], env: { LATCHKEY_KEYSTORE_PASSWORD: STORE_PASSWORD }, cause: /no private key/ },
  { name: 'public-key-only PEM', files: ['public.pem'], cause: /no private key/ },
  { name: 'RSA below 2048 bits', files: ['rsa1024.pem'], cause: /1024 bits; at least 2048/ },
  { name: 'duplicate kid', files: ['rsa.pem', 'store.p12'], env: { LATCHKEY_KEYSTORE_PASSWORD: STORE_PASSWORD }, cause: /duplicate key/ },
  { name: 'unknown primary alias', files: ['store.p12'], env: { LATCHKEY_KEYSTORE_PASSWORD: STORE_PASSWORD, LATCHKEY_KEYSTORE_ALIAS: 'nope' }, cause: /LATCHKEY_KEYSTORE_ALIAS: no key entry "nope"/, names: 'store.p12' },
  { name: 'missing key file', files: [], env: { LATCHKEY_KEY_FILES: '/nonexistent/latchkey/signing.pem' }, cause: /no such file/, names: '/nonexistent/latchkey/signing.pem' },
  // Running as root, permissions cannot make a file unreadable; a directory where a key file should be can.
  { name: 'unreadable key file', files: [], env: {}, cause: /cannot be read \(EISDIR\)/, names: 'unreadable.pem' },
];

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

for (const [index, c] of cases.entries()) {
  t.test(`${c.name}: exit 1, one line naming the file and the cause, nothing listens`, async (t) => {
    const keysDir = path.join(sandbox.dir, `keys-${index}`);
    await mkdir(keysDir, { recursive: true });
    for (const file of c.files) await copyFile(f.file(file), path.join(keysDir, file));
    if (c.name === 'unreadable key file') await mkdir(path.join(keysDir, 'unreadable.pem'));
    const port = await freePort();
    const result = await sandbox.spawn(['serve'], {
      env: { LATCHKEY_KEYS_DIR: keysDir, PORT: String(port), HOST: '127.0.0.1', LATCHKEY_ISSUER: `http://127.0.0.1:${port}`, ...c.env },
      deadlineMs: 30_000,
    });
    // A process still running at the deadline is killed and has no status: 1 means it ended by itself in time.
    t.equal(result.status, 1, 'exit status 1, by itself before the 30 s deadline');
    const lines = result.stderr.trim().split('\n');
    t.equal(lines.length, 1, `one line on stderr: ${result.stderr.trim()}`);
    t.match(lines[0], /^latchkey: could not start: /);
    t.match(lines[0], c.cause, 'names the cause');
    t.ok(lines[0]!.includes(c.names ?? c.files.at(-1)!), 'names the file');
    for (const secret of [STORE_PASSWORD, PASSPHRASE, 'not-the-password', 'not-the-passphrase', rsaPem.split('\n')[1]!]) {
      t.notOk((result.stdout + result.stderr).includes(secret), 'no password or key material in the output');
    }
    t.notMatch(result.stdout + result.stderr, /\n\s+at /, 'no stack trace');
    t.notOk(await listening(port), 'nothing listens on the port');
  });
}
