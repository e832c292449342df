import { recordAuditEvent } from '../../audit/audit-events.ts';
import { ADMIN_REALM } from '../../config/index.ts';
import { readKeyState, writeKeyState, type KeyStateFile } from '../../keys/key-state.ts';
import { isSigningAlgorithm, keyAlgorithmFor, SIGNING_ALGORITHMS, type SigningAlgorithm } from '../../keys/algorithms.ts';
import { keyOptionsOf, loadKeySet, writeNewKey, type KeySet, type SigningKey } from '../../keys/signing-keys.ts';
import { longestSignedTokenLifetime } from '../../oidc/signed-token-lifetime.ts';
import { realmList } from '../../oidc/realm-list.ts';
import { loadCommandContext, withServices, type CommandContext } from '../command-context.ts';
import { CliError, UsageError } from '../../errors/index.ts';
import { dispatch, parseCommandLine, write, type CliIo } from '../command-line.ts';

const LIST_USAGE = `Usage: latchkey keys list [--json]

Lists the signing keys: kid, algorithm, status, source file (or keystore
alias), dates and the SHA-256 fingerprint of the public key. Never prints
private material.

Status: active (signs), next (published, signs from its activation time),
retired (published until the tokens it signed have expired), verify-only
(published, never signs: a keystore's secondary entries), expired (no longer
published; the file may be deleted).`;

const GENERATE_USAGE = `Usage: latchkey keys generate --alg ${SIGNING_ALGORITHMS.join('|')}

Adds a key (PKCS#8 PEM, mode 0600, in LATCHKEY_KEYS_DIR) for an algorithm
that has no signing key yet; it signs at once. To replace the key of an
algorithm that already signs, use \`latchkey keys rotate\`.`;

const ROTATE_USAGE = `Usage: latchkey keys rotate [--alg ALG]… [--delay SECONDS]

Staged rotation: for each signing algorithm (or the ones given), a new key is
published now and signs only after the activation delay
(LATCHKEY_KEY_ACTIVATION_DELAY_SECONDS, longer than the JWKS cache max-age,
so every relying party has it first). The key it replaces stops signing then
and stays published until every token it signed has expired: ID tokens and
JWT access tokens, whose lifetimes (realms', clients' and resource servers')
it reads from the setup file and the database. Running servers pick the
change up within LATCHKEY_KEY_CHECK_SECONDS; all instances sharing the keys
folder switch at the same moment. Like every command that reads the
database, it is refused while a server has the embedded database open.

  --delay SECONDS   override the activation delay (0: sign with the new key
                    at once, e.g. after a key was compromised; relying
                    parties with a cached JWKS will fail to verify until
                    they refetch)`;

export const KEYS_USAGE = `Usage: latchkey keys list|generate|rotate …

  list                     the keys, their status and fingerprints
  generate --alg ALG       a key for an algorithm that has none yet
  rotate [--alg ALG]…      staged replacement of the signing keys

Run \`latchkey keys <subcommand> --help\` for details.`;

async function keySet(context: CommandContext, generate = false): Promise<KeySet> {
  return loadKeySet(keyOptionsOf(context.config, { generate }));
}

async function list(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandLine(args, { json: { type: 'boolean' } }, { command: 'latchkey keys list', positionals: [] });
  const context = await loadCommandContext(io);
  const keys = await keySet(context);
  const views = keys.all.map((key) => publicView(key, context.config.keysDir));
  if (parsed.values.json) {
    write(io.stdout, JSON.stringify(views, null, 2));
    return 0;
  }
  const rows = views.map((v) => [v.kid, v.alg, v.status, v.source, v.created, v.changes ?? '-', v.fingerprint]);
  const header = ['KID', 'ALG', 'STATUS', 'SOURCE', 'FILE DATE', 'SCHEDULE', 'SHA-256 FINGERPRINT'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) write(io.stdout, row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  return 0;
}

function publicView(key: SigningKey, keysDir: string) {
  const schedule = key.schedule;
  const changes = [
    schedule?.activates_at && `signs from ${schedule.activates_at}`,
    schedule?.retires_at && `retires ${schedule.retires_at}`,
    schedule?.drop_at && `unpublished ${schedule.drop_at}`,
  ].filter(Boolean).join('; ');
  return {
    kid: key.kid,
    alg: key.alg === 'RS256' ? 'RS256/PS256' : key.alg,
    use: 'sig',
    status: key.status,
    signs: key.signs,
    source: key.source.startsWith(`${keysDir}/`) ? key.source.slice(keysDir.length + 1) : key.source,
    created: key.modified.toISOString(),
    changes: changes || undefined,
    fingerprint: key.fingerprint,
  };
}

function algorithm(value: string): SigningAlgorithm {
  if (!isSigningAlgorithm(value)) throw new UsageError(`--alg: must be one of ${SIGNING_ALGORITHMS.join(', ')}`);
  // One RSA key serves RS256 and PS256.
  return keyAlgorithmFor(value);
}

function fileName(alg: SigningAlgorithm, now: Date): string {
  return `signing-${alg.toLowerCase()}-${now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}.pem`;
}

async function generate(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandLine(args, { alg: { type: 'string' } }, { command: 'latchkey keys generate', positionals: [] });
  if (!parsed.values.alg) throw new UsageError('--alg: required');
  const alg = algorithm(parsed.values.alg);
  const context = await loadCommandContext(io);
  const keys = await keySet(context, true);
  if (keys.all.some((k) => k.alg === alg && k.signs)) {
    throw new CliError(`${alg} already has a signing key; use \`latchkey keys rotate --alg ${alg}\` to replace it`);
  }
  const file = await writeNewKey(context.config.keysDir, fileName(alg, new Date()), alg);
  if (!file) throw new CliError('a key file of that name already exists; try again in a second');
  write(io.stdout, `Generated ${file} (${alg}, mode 0600). Running servers publish it and sign ${alg} with it within ${context.config.keys.checkSeconds} s.`);
  return 0;
}

async function rotate(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandLine(args, { alg: { type: 'string', multiple: true }, delay: { type: 'string' } }, { command: 'latchkey keys rotate', positionals: [] });
  const context = await loadCommandContext(io);
  const { config } = context;
  let delaySeconds = config.keys.activationDelaySeconds;
  if (parsed.values.delay !== undefined) {
    if (!/^\d+$/.test(parsed.values.delay)) throw new UsageError('--delay: a whole number of seconds');
    delaySeconds = Number(parsed.values.delay);
  }
  const keys = await keySet(context, true);
  const signers = keys.all.filter((k) => k.signs);
  const algs = parsed.values.alg ? [...new Set(parsed.values.alg.map(algorithm))] : [...new Set(signers.map((k) => k.alg as SigningAlgorithm))];
  for (const alg of algs) {
    if (!signers.some((k) => k.alg === alg)) throw new CliError(`${alg} has no signing key to rotate; use \`latchkey keys generate --alg ${alg}\``);
  }
  if (keys.all.some((k) => k.status === 'next' && algs.includes(k.alg as SigningAlgorithm))) {
    throw new CliError('a rotation is already staged for that algorithm (see `latchkey keys list`); wait until it is active');
  }

  // The replaced key signs until activatesAt (plus the time instances take to
  // notice) and stays published until the last token it signed expired. Not
  // only ID tokens: JWT access tokens (RFC 9068) are signed with the same keys
  // and may live far longer (a resource server's own lifetime, a client's
  // ttl); unpublished before they expire, resource servers reject them and
  // introspection answers inactive. Clients and resource servers added by the
  // CLI are only in the database, so rotating reads it.
  const longestToken = await withServices(context, 'latchkey keys rotate', (services) => longestSignedTokenLifetime(realmList(config), config.setup, services));
  const now = new Date();
  const activatesAt = new Date(now.getTime() + delaySeconds * 1000);
  const dropAt = new Date(activatesAt.getTime() + (config.keys.checkSeconds + longestToken + config.keys.jwksMaxAgeSeconds) * 1000);

  const state: KeyStateFile = await readKeyState(config.keysDir);
  const lines: string[] = [];
  for (const alg of algs) {
    const file = await writeNewKey(config.keysDir, fileName(alg, now), alg);
    if (!file) throw new CliError('a key file of that name already exists; try again in a second');
    const added = (await keySet(context)).all.find((k) => k.source === file)!;
    state.keys[added.kid] = { activates_at: activatesAt.toISOString() };
    for (const old of signers.filter((k) => k.alg === alg)) {
      state.keys[old.kid] = { ...state.keys[old.kid], retires_at: activatesAt.toISOString(), drop_at: dropAt.toISOString() };
      lines.push(`${alg}: ${added.kid} is published now and signs from ${activatesAt.toISOString()}; ${old.kid} retires then and is unpublished at ${dropAt.toISOString()}.`);
    }
  }
  await writeKeyState(config.keysDir, state);
  for (const line of lines) write(io.stdout, line);
  // Who staged the rotation; the servers record keys.rotated again when they start publishing it. Key ids are public.
  if (config.audit.enabled) {
    await withServices(context, 'latchkey keys rotate', (services) => recordAuditEvent(services.database.db, context.logger, {
      realm: ADMIN_REALM, type: 'keys.rotated', outcome: 'success', actor: 'cli',
      details: { staged: Object.keys(state.keys).filter((kid) => state.keys[kid]?.activates_at === activatesAt.toISOString()), activates_at: activatesAt.toISOString() },
    }));
  }
  if (delaySeconds < config.keys.jwksMaxAgeSeconds + config.keys.checkSeconds) {
    write(io.stderr, `latchkey: warning: --delay ${delaySeconds} is shorter than the JWKS cache max-age plus the check interval; relying parties may not have the new key when it starts signing`);
  }
  return 0;
}

export function keys(args: string[], io: CliIo): Promise<number> {
  return dispatch('keys', KEYS_USAGE, {
    list: { run: list, usage: LIST_USAGE },
    generate: { run: generate, usage: GENERATE_USAGE },
    rotate: { run: rotate, usage: ROTATE_USAGE },
  }, args, io);
}
