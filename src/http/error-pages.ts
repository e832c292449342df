import { SessionNotFound } from '../errors/index.ts';
import type { PageBranding } from './branding.ts';
import { messagePage } from './views/message-page.ts';

export type { PageBranding } from './branding.ts';

/**
 * Every HTML error page: the engine's (renderError, src/http/provider-pages.ts),
 * the interaction routes' and the app's. A title and a sentence for a
 * person, chosen by status and OAuth code, and the code itself (with its
 * description when oidc-provider marks it as safe to expose); everything
 * is escaped by the views.
 */
const FRIENDLY: Record<string, string> = {
  invalid_redirect_uri: 'The application sent you here with a return address that is not registered, so you cannot be sent back to it.',
  invalid_client: 'The application that sent you here is not known to this sign-in service.',
  invalid_request: 'The sign-in request was not valid.',
  session_not_found: 'This sign-in link has expired or was already used. Go back to the application and start again.',
  temporarily_unavailable: 'The sign-in service is temporarily unavailable. Please try again in a moment.',
  server_error: 'Something went wrong on our side. Please try again.',
};

/**
 * `error` is the error itself, when known: the engine's session_not_found
 * travels as `invalid_request`, and only its class tells a stale link from
 * a malformed request.
 */
export function errorPageText(status: number, out: { error?: unknown; error_description?: unknown }, error?: unknown): { title: string; message: string; detail: string } {
  const code = error instanceof SessionNotFound ? 'session_not_found' : String(out.error ?? 'server_error');
  const shown = String(out.error ?? 'server_error');
  const detail = out.error_description ? `${shown}: ${String(out.error_description)}` : shown;
  if (status === 404) return { title: 'Page not found', message: 'There is nothing at this address.', detail };
  if (status === 403) return { title: 'Request refused', message: 'This form was submitted from another site, so it was refused.', detail };
  return {
    title: code === 'temporarily_unavailable' ? 'Temporarily unavailable' : status >= 500 ? 'Something went wrong' : 'Sign-in problem',
    message: FRIENDLY[code] ?? 'The request could not be completed.',
    detail,
  };
}

export function errorPage(status: number, out: { error?: unknown; error_description?: unknown }, { assetsPath, branding, error }: {
  assetsPath: string;
  branding?: PageBranding | undefined;
  error?: unknown;
}): string {
  return messagePage({ ...errorPageText(status, out, error), assetsPath, tone: 'error', ...branding });
}
