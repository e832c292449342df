import path from 'node:path';
import { recordAuditEvent } from '../../audit/audit-events.ts';
import { ADMIN_REALM } from '../../config/index.ts';
import { isSigningAlgorithm, keyAlgorithmFor, SIGNING_ALGORITHMS, type SigningAlgorithm } from '../../keys/algorithms.ts';
import { KeyAdministration, type KeyView } from '../../keys/key-administration.ts';
import { longestSignedTokenLifetime } from '../../oidc/signed-token-lifetime.ts';
import { realmList } from '../../oidc/realm-list.ts';
import { loadCommandContext, withServices, type CommandContext } from '../command-context.ts';
import { CliError, KeyChangeRefusedError, UsageError } from '../../errors/index.ts';
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

/** The key rules (src/keys/key-administration.ts), with the lifetimes a rotation must outlive read from the setup file and the database. */
function administration(context: CommandContext): KeyAdministration {
  const { config } = context;
  return new KeyAdministration({
    config,
    longestSignedTokenLifetime: () => withServices(context, 'latchkey keys rotate', (services) => longestSignedTokenLifetime(realmList(config), config.setup, services)),
  });
}

/** The service's refusals, with the way out in the CLI's words. */
async function refusalsInCliWords<T>(change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } catch (error) {
    if (!(error instanceof KeyChangeRefusedError)) throw error;
    const { reason, alg } = error;
    if (reason === 'has-signer') throw new CliError(`${alg} already has a signing key; use \`latchkey keys rotate --alg ${alg}\` to replace it`);
    if (reason === 'no-signer') throw new CliError(`${alg} has no signing key to rotate; use \`latchkey keys generate --alg ${alg}\``);
    if (reason === 'staged') throw new CliError('a rotation is already staged for that algorithm (see `latchkey keys list`); wait until it is active');
    throw new CliError(error.message);
  }
}

async function list(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandLine(args, { json: { type: 'boolean' } }, { command: 'latchkey keys list', positionals: [] });
  const context = await loadCommandContext(io);
  const views = (await administration(context).list()).map(cliView);
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

/** `keys list --json`'s shape, as it was before the admin API: the schedule as one sentence. */
function cliView({ public_jwk: _publicJwk, activates_at: activatesAt, retires_at: retiresAt, drop_at: dropAt, ...view }: KeyView) {
  const changes = [
    activatesAt && `signs from ${activatesAt}`,
    retiresAt && `retires ${retiresAt}`,
    dropAt && `unpublished ${dropAt}`,
  ].filter(Boolean).join('; ');
  const { fingerprint, ...rest } = view;
  return { ...rest, changes: changes || undefined, fingerprint };
}

function algorithm(value: string): SigningAlgorithm {
  if (!isSigningAlgorithm(value)) throw new UsageError(`--alg: must be one of ${SIGNING_ALGORITHMS.join(', ')}`);
  return value;
}

async function generate(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandLine(args, { alg: { type: 'string' } }, { command: 'latchkey keys generate', positionals: [] });
  if (!parsed.values.alg) throw new UsageError('--alg: required');
  const alg = algorithm(parsed.values.alg);
  const context = await loadCommandContext(io);
  const key = await refusalsInCliWords(() => administration(context).generate(alg));
  const file = path.resolve(context.config.keysDir, key.source);
  write(io.stdout, `Generated ${file} (${keyAlgorithmFor(alg)}, mode 0600). Running servers publish it and sign ${keyAlgorithmFor(alg)} with it within ${context.config.keys.checkSeconds} s.`);
  return 0;
}

async function rotate(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandLine(args, { alg: { type: 'string', multiple: true }, delay: { type: 'string' } }, { command: 'latchkey keys rotate', positionals: [] });
  const algorithms = parsed.values.alg?.map(algorithm);
  const context = await loadCommandContext(io);
  let delaySeconds: number | undefined;
  if (parsed.values.delay !== undefined) {
    if (!/^\d+$/.test(parsed.values.delay)) throw new UsageError('--delay: a whole number of seconds');
    delaySeconds = Number(parsed.values.delay);
  }
  const rotation = await refusalsInCliWords(() => administration(context).rotate({ algorithms, delaySeconds }));
  for (const { alg, kid, replaces } of rotation.staged) {
    for (const old of replaces) {
      write(io.stdout, `${alg}: ${kid} is published now and signs from ${rotation.activates_at}; ${old} retires then and is unpublished at ${rotation.drop_at}.`);
    }
  }
  if (rotation.warning) write(io.stderr, `latchkey: warning: --delay ${rotation.delay_seconds} is shorter than the JWKS cache max-age plus the check interval; relying parties may not have the new key when it starts signing`);
  // Who staged the rotation; the servers record keys.rotated again when they start signing with it. Key ids are public.
  if (context.config.audit.enabled) {
    await withServices(context, 'latchkey keys rotate', (services) => recordAuditEvent(services.database.db, context.logger, {
      realm: ADMIN_REALM, type: 'keys.rotated', outcome: 'success', actor: 'cli',
      details: { staged: rotation.staged.map((key) => key.kid), activates_at: rotation.activates_at },
    }));
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
