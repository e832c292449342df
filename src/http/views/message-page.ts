import type { Branding } from '../branding.ts';
import { html, type SafeHtml } from './html.ts';
import { layout } from './layout.ts';

/** Error, logout and signed-out pages: a heading, a sentence for a person, and optional markup. */
export function messagePage({ title, message, assetsPath, detail, extra, branding, brandingStylesheet, tone = 'info' }: {
  title: string;
  message: string;
  assetsPath: string;
  detail?: string | undefined;
  extra?: SafeHtml | undefined;
  branding?: Branding | undefined;
  brandingStylesheet?: string | undefined;
  tone?: 'info' | 'error';
}): string {
  return layout({
    title,
    assetsPath,
    branding,
    brandingStylesheet,
    body: html`
<h1 id="page-title" class="${tone === 'error' ? 'title-error' : ''}">${title}</h1>
<p class="message">${message}</p>
${detail ? html`<p class="detail">${detail}</p>` : ''}
${extra ?? ''}`,
  });
}
