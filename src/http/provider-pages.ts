import type { ProviderPages } from '../oidc/provider-factory.ts';
import { brandingFor, brandingStylesheetPath, type RealmBranding } from './branding.ts';
import { trustedHtml } from './views/html.ts';
import { messagePage } from './views/message-page.ts';

/**
 * Pages oidc-provider renders itself. Errors are explained to a person; the
 * OAuth error code is shown, its description only when oidc-provider marks it
 * as safe to expose, and everything is escaped.
 */
const FRIENDLY: Record<string, string> = {
  invalid_redirect_uri: 'The application sent you here with a return address that is not registered, so you cannot be sent back to it.',
  invalid_client: 'The application that sent you here is not known to this sign-in service.',
  invalid_request: 'The sign-in request was not valid.',
  session_not_found: 'This sign-in link has expired or was already used. Go back to the application and start again.',
  temporarily_unavailable: 'The sign-in service is temporarily unavailable. Please try again in a moment.',
  server_error: 'Something went wrong on our side. Please try again.',
};

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
      const code = String(out.error ?? 'server_error');
      ctx.type = 'html';
      ctx.body = messagePage({
        title: code === 'temporarily_unavailable' ? 'Temporarily unavailable' : 'Sign-in problem',
        message: FRIENDLY[code] ?? 'The request could not be completed.',
        detail: out.error_description ? `${code}: ${String(out.error_description)}` : code,
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
