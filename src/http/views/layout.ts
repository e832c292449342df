import type { Branding } from '../branding.ts';
import { html, type SafeHtml } from './html.ts';

export type { Branding as PageBranding } from '../branding.ts';

/**
 * The frame every page shares: language, title, viewport, Latchkey's
 * stylesheet plus the client's branding stylesheet, the client's logo and
 * name, and its policy links. No inline script or style (strict CSP).
 */
export function layout({ title, assetsPath, branding = {}, brandingStylesheet, body }: {
  title: string;
  assetsPath: string;
  branding?: Branding | undefined;
  /** Path of the branding stylesheet (src/http/branding.ts), when the page belongs to a client or realm. */
  brandingStylesheet?: string | undefined;
  body: SafeHtml;
}): string {
  const { appName, logoUri, backgroundUri, policyUri, tosUri } = branding;
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<link rel="stylesheet" href="${assetsPath}latchkey.css">
${brandingStylesheet ? html`<link rel="stylesheet" href="${brandingStylesheet}">` : ''}
</head>
<body class="${backgroundUri ? 'has-background' : ''}">
<main class="card" aria-labelledby="page-title">
<header class="brand">
${logoUri
    ? html`<img class="logo" src="${logoUri}" alt="${appName ? `${appName} logo` : 'Application logo'}">`
    : html`<span class="mark" aria-hidden="true"></span>${appName ? html`<p class="app-name">${appName}</p>` : ''}`}
</header>
${body}
</main>
<footer class="footer">
${policyUri ? html`<a href="${policyUri}" rel="noopener noreferrer">Privacy policy</a>` : ''}
${tosUri ? html`<a href="${tosUri}" rel="noopener noreferrer">Terms of service</a>` : ''}
<span>Secured by Latchkey</span>
</footer>
</body>
</html>
`.value;
}
