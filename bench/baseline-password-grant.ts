import argon2 from 'argon2';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import { ARGON2_OPTIONS } from '../src/accounts/password-hasher.ts';
import { PASSWORD_USERS } from './oauth-client.ts';

/**
 * The least password grant (RFC 6749 §4.3) on the bare engine, for the
 * password_grant scenario: what any host of oidc-provider must add for it,
 * doing the same work as Latchkey's (src/oidc/password-grant.ts) minus what
 * makes it safe. An argon2id verification at Latchkey's parameters against
 * one hash for every bench user, a Grant, an opaque access token and an ID
 * token; no brakes, no scope or resource checks, no refresh token (the
 * bench client has no refresh_token grant on either side).
 */
export async function installBaselinePasswordGrant(provider: Provider, account: { password: string; claims: Record<string, unknown> }): Promise<void> {
  const hash = await argon2.hash(account.password, ARGON2_OPTIONS);
  const users = new Set(PASSWORD_USERS);
  provider.registerGrantType('password', async (ctx) => {
    const { username, password, scope } = ctx.oidc.params as Record<string, string | undefined>;
    const ok = await argon2.verify(hash, password ?? '');
    if (!ok || !username || !users.has(username)) throw new errors.InvalidGrant('invalid username or password');
    const { client } = ctx.oidc;
    const scopes = new Set((scope ?? 'openid').split(' '));
    const grant = new provider.Grant({ accountId: username, clientId: client.clientId });
    grant.addOIDCScope([...scopes].join(' '));
    const grantId = await grant.save();
    const at = new provider.AccessToken({ accountId: username, client, grantId, gty: 'password' });
    at.scope = grant.getOIDCScopeFiltered(scopes);
    const accessToken = await at.save();
    let idToken: string | undefined;
    if (scopes.has('openid')) {
      const token = new provider.IdToken({ sub: username, ...account.claims }, { ctx });
      (token as unknown as { scope: string }).scope = 'openid';
      idToken = await token.issue({ use: 'idtoken' });
    }
    ctx.body = { access_token: accessToken, expires_in: at.expiration, id_token: idToken, scope: at.scope, token_type: at.tokenType };
  }, ['username', 'password', 'scope']);
}
