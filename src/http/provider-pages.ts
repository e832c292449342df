import type { ProviderPages } from '../oidc/provider-factory.ts';
import { pageBrandingFor, type RealmBranding } from './branding.ts';
import { errorPage } from './error-pages.ts';
import { trustedHtml } from './views/html.ts';
import { messagePage } from './views/message-page.ts';

/**
 * Pages oidc-provider renders itself (errors through src/http/error-pages.ts),
 * branded for the client oidc-provider knows, else for the realm.
 */
function pageBranding(ctx: { oidc?: { client?: { clientId: string; metadata(): object } | undefined } }, realm: RealmPages) {
  return pageBrandingFor(realm, ctx.oidc?.client);
}

export interface RealmPages {
  mountPath: string;
  realmBranding?: RealmBranding | undefined;
}

export function createProviderPages(assetsPath: string, realm: RealmPages = { mountPath: '/' }): ProviderPages {
  return {
    async renderError(ctx, out, error) {
      ctx.type = 'html';
      ctx.body = errorPage(ctx.status, out, { assetsPath, branding: pageBranding(ctx, realm), error });
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
