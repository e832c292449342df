import { html, type SafeHtml } from './html.ts';

export interface PageBranding {
  appName?: string | undefined;
  logoUri?: string | undefined;
}

/** The frame every page shares: language, title, viewport, our stylesheet, no inline script or style. */
export function layout({ title, assetsPath, branding, body }: {
  title: string;
  assetsPath: string;
  branding?: PageBranding;
  body: SafeHtml;
}): string {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<link rel="stylesheet" href="${assetsPath}latchkey.css">
</head>
<body>
<main class="card">
${branding?.logoUri ? html`<img class="logo" src="${branding.logoUri}" alt="">` : ''}
${body}
</main>
<footer class="footer">Secured by Latchkey</footer>
</body>
</html>
`.value;
}
