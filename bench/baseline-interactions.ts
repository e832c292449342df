import type { IncomingMessage } from 'node:http';
import argon2 from 'argon2';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { ARGON2_OPTIONS } from '../src/accounts/password-hasher.ts';

/**
 * The smallest login + consent a host has to add to oidc-provider for the
 * code flow, as Koa middleware in front of the engine's routes: the same URLs
 * and form fields as Latchkey's pages (so one browser-less driver runs both),
 * and an argon2id verification at Latchkey's parameters, because the
 * password check is the intrinsic cost of a login. No page rendering, no
 * rate limits, no origin checks, no concurrency bound on argon2.
 */
export function installBaselineInteractions(provider: Provider, account: { login: string; password: string; accountId: string }): Promise<void> {
  const hashReady = argon2.hash(account.password, ARGON2_OPTIONS);

  provider.use(async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    const match = /^\/interaction\/([^/]+)(?:\/(login|confirm))?$/.exec(ctx.path);
    if (!match) return next();
    const [, uid, action] = match;
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== uid) ctx.throw(400, 'interaction mismatch');

    if (ctx.method === 'GET' && !action) {
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = details.prompt.name === 'login'
        ? `<form method="post" action="/interaction/${uid}/login"><input name="login"><input name="password" type="password"></form>`
        : `<form method="post" action="/interaction/${uid}/confirm"><button>Allow</button></form>`;
      return undefined;
    }
    if (ctx.method !== 'POST') ctx.throw(405);

    let result: Parameters<Provider['interactionResult']>[2];
    if (action === 'login') {
      const form = await readForm(ctx.req);
      const ok = form.get('login') === account.login && await argon2.verify(await hashReady, form.get('password') ?? '');
      if (!ok) ctx.throw(401, 'wrong credentials');
      result = { login: { accountId: account.accountId, amr: ['pwd'], remember: true } };
    } else {
      if (!details.session) ctx.throw(400, 'no session');
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params['client_id']) });
      if (!grant) ctx.throw(400, 'grant not found');
      const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
      if (missing.missingOIDCScope) grant!.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant!.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant!.addResourceScope(indicator, scopes.join(' '));
      const grantId = await grant!.save();
      result = { consent: details.grantId ? {} : { grantId } };
    }
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: action === 'confirm' });
    ctx.redirect(returnTo);
    ctx.status = 303;
    return undefined;
  });
  return hashReady.then(() => undefined);
}

async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of request) {
    body += String(chunk);
    if (body.length > 16 * 1024) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}
