import type { Branding } from '../branding.ts';
import { html } from './html.ts';
import { layout } from './layout.ts';

export function loginPage({ action, abortAction, assetsPath, branding, brandingStylesheet, login, error }: {
  action: string;
  abortAction: string;
  assetsPath: string;
  branding: Branding;
  brandingStylesheet?: string | undefined;
  login?: string | undefined;
  error?: string | undefined;
}): string {
  const appName = branding.appName;
  return layout({
    title: appName ? `Sign in to ${appName}` : 'Sign in',
    assetsPath,
    branding,
    brandingStylesheet,
    body: html`
<h1 id="page-title">Sign in</h1>
<p class="subtitle">${appName ? html`to continue to <strong>${appName}</strong>` : 'with your account'}</p>
${error ? html`<p class="error" role="alert" id="login-error">${error}</p>` : ''}
<form method="post" action="${action}" class="stack">
  <label for="login">Username or e-mail</label>
  <input id="login" name="login" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus maxlength="256" value="${login ?? ''}"${error ? html` aria-describedby="login-error" aria-invalid="true"` : ''}>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"${error ? html` aria-describedby="login-error" aria-invalid="true"` : ''}>
  <button type="submit" class="primary">Sign in</button>
</form>
<form method="post" action="${abortAction}">
  <button type="submit" class="link">Cancel and go back</button>
</form>`,
  });
}
