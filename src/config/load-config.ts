import { access } from 'node:fs/promises';
import { loadDeclarativeFile, parseDeclarativeSetup, type DeclarativeSetup } from './declarative-setup.ts';
import { readEnv, type EnvSettings, type Environment } from './env-settings.ts';

export interface LatchkeyConfig extends EnvSettings {
  setup: DeclarativeSetup;
}

/**
 * The configuration, read and validated once at start: the environment, then
 * the declarative setup file it names. The default file may be absent (then
 * nothing is declared); a file named by LATCHKEY_CONFIG must exist.
 */
export async function loadConfig({ env = process.env, cwd = process.cwd() }: { env?: Environment; cwd?: string } = {}): Promise<LatchkeyConfig> {
  const settings = readEnv(env, cwd);
  return { ...settings, setup: await readSetupFile(settings, env) };
}

/**
 * The setup file the settings name, read and validated: at start, and again
 * when the admin API re-applies it (src/realms/setup-application.ts), with
 * the same rules both times.
 */
export async function readSetupFile(
  settings: Pick<EnvSettings, 'configFile' | 'configFileExplicit' | 'nodeEnv' | 'keycloakPathPrefix'>,
  env: Environment = process.env,
): Promise<DeclarativeSetup> {
  const exists = await access(settings.configFile).then(() => true, () => false);
  return exists || settings.configFileExplicit
    ? loadDeclarativeFile(settings.configFile, { env, nodeEnv: settings.nodeEnv, keycloakPathPrefix: settings.keycloakPathPrefix })
    : { realms: [] };
}

/**
 * A setup handed to the library (src/library.ts): a document as the setup
 * file holds it, or the path of such a file, read with the same rules as
 * the server's file; `${VAR}` from `env`, then the process's environment.
 */
export async function setupFrom(
  source: Record<string, unknown> | string | undefined,
  { env = {}, nodeEnv }: { env?: Environment | undefined; nodeEnv: string },
): Promise<DeclarativeSetup> {
  const variables = { ...process.env, ...env };
  if (source === undefined) return { realms: [] };
  if (typeof source === 'string') return loadDeclarativeFile(source, { env: variables, nodeEnv });
  return parseDeclarativeSetup(source, { env: variables, nodeEnv, source: 'the setup given to startLatchkey' });
}
