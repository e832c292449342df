import { html } from './html.ts';
import { layout, type PageBranding } from './layout.ts';

export function loginPage({ action, abortAction, assetsPath, branding, login, error }: {
  action: string;
  abortAction: string;
  assetsPath: string;
  branding: PageBranding;
  login?: string | undefined;
  error?: string | undefined;
}): string {
  const appName = branding.appName;
  return layout({
    title: appName ? `Sign in to ${appName}` : 'Sign in',
    assetsPath,
    branding,
    body: html`
<h1>Sign in</h1>
${appName ? html`<p class="subtitle">to continue to <strong>${appName}</strong></p>` : ''}
${error ? html`<p class="error" role="alert" id="login-error">${error}</p>` : ''}
<form method="post" action="${action}" novalidate>
  <label for="login">Username or e-mail</label>
  <input id="login" name="login" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus maxlength="256" value="${login ?? ''}"${error ? html` aria-describedby="login-error"` : ''}>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
  <button type="submit" class="primary">Sign in</button>
</form>
<form method="post" action="${abortAction}">
  <button type="submit" class="link">Cancel</button>
</form>`,
  });
}
