import { access } from 'node:fs/promises';
import { loadDeclarativeFile, type DeclarativeSetup } from './declarative-setup.ts';
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
  const exists = await access(settings.configFile).then(() => true, () => false);
  const setup = exists || settings.configFileExplicit
    ? await loadDeclarativeFile(settings.configFile, { env, nodeEnv: settings.nodeEnv, keycloakPathPrefix: settings.keycloakPathPrefix })
    : { realms: [] };
  return { ...settings, setup };
}
