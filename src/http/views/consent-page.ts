import { html } from './html.ts';
import { layout, type PageBranding } from './layout.ts';

const SCOPE_WORDS: Record<string, string> = {
  openid: 'Know who you are',
  profile: 'See your name and username',
  email: 'See your e-mail address',
  offline_access: 'Keep access while you are not signed in',
};

export function describeScope(scope: string): string {
  return SCOPE_WORDS[scope] ?? `Use the “${scope}” permission`;
}

export function consentPage({ action, abortAction, assetsPath, branding, clientLabel, scopes, policyUri, tosUri }: {
  action: string;
  abortAction: string;
  assetsPath: string;
  branding: PageBranding;
  clientLabel: string;
  scopes: string[];
  policyUri?: string | undefined;
  tosUri?: string | undefined;
}): string {
  return layout({
    title: `Allow ${clientLabel}?`,
    assetsPath,
    branding,
    body: html`
<h1>Allow access</h1>
<p class="subtitle"><strong>${clientLabel}</strong> would like to:</p>
<ul class="scopes">
${scopes.map((s) => html`<li>${describeScope(s)}</li>`)}
</ul>
${policyUri || tosUri ? html`<p class="links">${policyUri ? html`<a href="${policyUri}" rel="noopener noreferrer">Privacy policy</a>` : ''} ${tosUri ? html`<a href="${tosUri}" rel="noopener noreferrer">Terms of service</a>` : ''}</p>` : ''}
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
