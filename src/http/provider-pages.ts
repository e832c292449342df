import type { ProviderPages } from '../oidc/provider-factory.ts';
import { errorPageText } from './error-replies.ts';
import { brandingFor, brandingStylesheetPath, type RealmBranding } from './branding.ts';
import { trustedHtml } from './views/html.ts';
import { messagePage } from './views/message-page.ts';

/**
 * Pages oidc-provider renders itself. Errors are explained to a person; the
 * OAuth error code is shown, its description only when oidc-provider marks it
 * as safe to expose, and everything is escaped (src/http/error-replies.ts).
 */

/** The page's branding: the client's when oidc-provider knows it, else the realm's. */
function pageBranding(ctx: { oidc?: { client?: { clientId: string; metadata(): object } | undefined } }, realm: RealmPages) {
  const client = ctx.oidc?.client;
  return {
    branding: brandingFor(realm.realmBranding, client?.metadata() as Record<string, unknown> | undefined),
    brandingStylesheet: brandingStylesheetPath(realm.mountPath, client?.clientId),
  };
}

export interface RealmPages {
  mountPath: string;
  realmBranding?: RealmBranding | undefined;
}

export function createProviderPages(assetsPath: string, realm: RealmPages = { mountPath: '/' }): ProviderPages {
  return {
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = messagePage({
        ...errorPageText(ctx.status, out),
        assetsPath,
        tone: 'error',
        ...pageBranding(ctx, realm),
      });
    },
    async logoutSource(ctx, form) {
      const looks = pageBranding(ctx, realm);
      const name = looks.branding.appName ?? ctx.oidc.client?.clientId;
      ctx.type = 'html';
      ctx.body = messagePage({
        title: 'Sign out',
        message: name ? `Do you want to sign out of ${name} and this sign-in service?` : 'Do you want to sign out?',
        assetsPath,
        ...looks,
        // oidc-provider's form: <form id="op.logoutForm" …> with its hidden xsrf input.
        extra: trustedHtml(`${form}
<div class="actions">
<button type="submit" form="op.logoutForm" class="secondary">Stay signed in</button>
<button type="submit" form="op.logoutForm" name="logout" value="yes" class="primary" autofocus>Sign out</button>
</div>`),
      });
    },
    async postLogoutSuccessSource(ctx) {
      const looks = pageBranding(ctx, realm);
      const name = looks.branding.appName ?? ctx.oidc.client?.clientId;
      ctx.type = 'html';
      ctx.body = messagePage({
        title: 'Signed out',
        message: name ? `You have signed out of ${name}.` : 'You have signed out.',
        assetsPath,
        ...looks,
      });
    },
  };
}
