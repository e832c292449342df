import * as oidc from 'openid-client';
import { Browser } from './browserless.ts';
import { SECRETS } from './setups.ts';

/** openid-client (v6) as the relying party, allowed to talk plain HTTP to the loopback test server. */
export async function discover(issuer: string, clientId: string, secret?: string): Promise<oidc.Configuration> {
  const auth = secret ? oidc.ClientSecretBasic(secret) : oidc.None();
  return oidc.discovery(new URL(issuer), clientId, secret ? { client_secret: secret } : undefined, auth, {
    execute: [oidc.allowInsecureRequests],
  });
}

export interface CodeFlowResult {
  tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
  browser: Browser;
  config: oidc.Configuration;
}

/**
 * The full authorization code + PKCE flow for web1 (or another client), signing in as alice.
 * `secret: null` makes a public client (a default parameter would turn `undefined` into web1's secret).
 */
export async function codeFlow(issuer: string, {
  clientId = 'web1',
  secret = SECRETS.web1 as string | null,
  redirectUri = 'https://app.test/cb',
  scope = 'openid profile email offline_access',
  browser = new Browser(issuer),
  password = SECRETS.alice as string,
  /** More authorization request parameters, e.g. `resource` (RFC 8707). */
  parameters = {} as Record<string, string>,
} = {}): Promise<CodeFlowResult> {
  const config = await discover(issuer, clientId, secret ?? undefined);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...parameters,
  });
  const callback = await browser.authorize(url.href, { login: 'alice', password });
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
  });
  return { tokens, browser, config };
}
