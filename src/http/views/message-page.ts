import { html, type SafeHtml } from './html.ts';
import { layout } from './layout.ts';

/** Error, logout and signed-out pages: a heading, a sentence for a person, and optional markup. */
export function messagePage({ title, message, assetsPath, detail, extra }: {
  title: string;
  message: string;
  assetsPath: string;
  detail?: string | undefined;
  extra?: SafeHtml | undefined;
}): string {
  return layout({
    title,
    assetsPath,
    body: html`
<h1>${title}</h1>
<p>${message}</p>
${detail ? html`<p class="detail">${detail}</p>` : ''}
${extra ?? ''}`,
  });
}
