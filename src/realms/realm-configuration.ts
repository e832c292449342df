import type Provider from 'oidc-provider';
import type { AccountService } from '../accounts/account-service.ts';
import type { ClientService } from '../clients/client-service.ts';
import type { LatchkeyConfig, ResourceServerDeclaration } from '../config/index.ts';
import { RealmNotFoundError } from '../errors/index.ts';
import type { KeySet } from '../keys/signing-keys.ts';
import { engineEndpoints, engineFeatures, engineScopes } from '../oidc/engine-configuration.ts';
import type { RealmSettings } from '../oidc/provider-factory.ts';
import type { TokenLifetimes } from '../oidc/token-lifetimes.ts';
import type { ResourceServerService } from '../resource-servers/resource-server-service.ts';

/**
 * What a served realm is doing, as the server runs it (not as the setup
 * file says it: the file may have changed since the start): its issuers and
 * endpoints, lifetimes, the engine features and scopes its provider has now,
 * branding, resource servers, how many clients and users, and how its keys
 * are rotated. Built from an allow-list of what is safe to show: no client
 * secret, password, key material, cookie key or connection string is read
 * here, so none can be shown; of secrets, only whether they are configured.
 */
export interface RealmConfiguration {
  realm: string;
  issuers: {
    issuer: string;
    layout: string;
    mount_path: string;
    /** The realm's first layout is its own; the others are aliases over the same clients and users. */
    alias: boolean;
    discovery: string;
    /** `aud` of access tokens that name no resource server (Keycloak and Okta layouts). */
    default_audience?: string | undefined;
    endpoints: Record<string, string>;
  }[];
  token_lifetimes: TokenLifetimes;
  password_grant_for_public_clients: boolean;
  branding: Record<string, string | undefined> | null;
  features: string[];
  scopes: string[];
  resource_servers: ResourceServerDeclaration[];
  counts: { clients: number; users: number };
  signing: {
    algorithms: string[];
    id_token_alg: string;
    jwks_max_age_seconds: number;
    key_check_seconds: number;
    activation_delay_seconds: number;
  };
  server: {
    setup_file: string;
    database: 'embedded' | 'postgresql';
    /** Whether LATCHKEY_COOKIE_KEYS is set (else keys generated into the keys folder); never the keys. */
    cookie_keys: 'configured' | 'generated';
    trust_proxy: boolean;
  };
}

export interface RealmConfigurationDeps {
  config: Pick<LatchkeyConfig, 'keys' | 'databaseUrl' | 'cookieKeys' | 'trustProxy' | 'configFile'>;
  /** The realms as mounted: their settings, and the provider of the moment (a key rotation replaces it). */
  realms: readonly { settings: RealmSettings; provider: Provider }[];
  keys: () => KeySet;
  clients: Pick<ClientService, 'count'>;
  accounts: Pick<AccountService, 'count'>;
  resourceServers: Pick<ResourceServerService, 'list'>;
}

export class RealmConfigurations {
  readonly #deps: RealmConfigurationDeps;

  constructor(deps: RealmConfigurationDeps) {
    this.#deps = deps;
  }

  /** @throws RealmNotFoundError for a realm this server does not serve */
  async describe(name: string): Promise<RealmConfiguration> {
    const { config, realms, keys, clients, accounts, resourceServers } = this.#deps;
    const mounted = realms.filter((realm) => realm.settings.name === name);
    const [own] = mounted;
    if (!own) throw new RealmNotFoundError(name);
    const { settings } = own;
    const keySet = keys();
    return {
      realm: name,
      issuers: mounted.map(({ settings: layout, provider }, i) => ({
        issuer: layout.issuer,
        layout: layout.layout.kind,
        mount_path: layout.mountPath,
        alias: i > 0,
        discovery: `${layout.issuer}/.well-known/openid-configuration`,
        default_audience: layout.layout.defaultAudience,
        endpoints: Object.fromEntries(Object.entries(engineEndpoints(provider)).map(([endpoint, path]) => [endpoint, `${layout.issuer}${path}`])),
      })),
      token_lifetimes: { ...settings.lifetimes },
      password_grant_for_public_clients: settings.passwordGrantForPublicClients ?? false,
      branding: settings.branding ? { ...settings.branding } : null,
      features: engineFeatures(own.provider),
      scopes: [...engineScopes(own.provider)].sort(),
      resource_servers: await resourceServers.list(name),
      counts: { clients: await clients.count(name), users: await accounts.count(name) },
      signing: {
        algorithms: keySet.signingAlgs,
        id_token_alg: keySet.idTokenAlg,
        jwks_max_age_seconds: config.keys.jwksMaxAgeSeconds,
        key_check_seconds: config.keys.checkSeconds,
        activation_delay_seconds: config.keys.activationDelaySeconds,
      },
      server: {
        setup_file: config.configFile,
        database: config.databaseUrl === undefined ? 'embedded' : 'postgresql',
        cookie_keys: config.cookieKeys?.length ? 'configured' : 'generated',
        trust_proxy: config.trustProxy,
      },
    };
  }
}
