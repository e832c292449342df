import type { Branding } from '../branding.ts';
import { html } from './html.ts';
import { layout } from './layout.ts';

const SCOPE_WORDS: Record<string, string> = {
  openid: 'Know who you are',
  profile: 'See your name and profile details',
  email: 'See your e-mail address',
  address: 'See your postal address',
  phone: 'See your phone number',
  offline_access: 'Stay connected when you are not using it',
};

export function describeScope(scope: string): string {
  return SCOPE_WORDS[scope] ?? `Use the “${scope}” permission`;
}

export function consentPage({ action, abortAction, assetsPath, branding, brandingStylesheet, clientLabel, scopes, account }: {
  action: string;
  abortAction: string;
  assetsPath: string;
  branding: Branding;
  brandingStylesheet?: string | undefined;
  clientLabel: string;
  scopes: string[];
  account?: string | undefined;
}): string {
  return layout({
    title: `Allow ${clientLabel} access?`,
    assetsPath,
    branding,
    brandingStylesheet,
    body: html`
<h1 id="page-title">Allow access?</h1>
<p class="subtitle"><strong>${clientLabel}</strong> would like to:</p>
<ul class="scopes">
${scopes.map((s) => html`<li>${describeScope(s)}</li>`)}
</ul>
${account ? html`<p class="muted">Signed in as <strong>${account}</strong></p>` : ''}
<div class="actions">
<form method="post" action="${abortAction}">
  <button type="submit" class="secondary">Deny</button>
</form>
<form method="post" action="${action}">
  <button type="submit" class="primary" autofocus>Allow</button>
</form>
</div>`,
  });
}
