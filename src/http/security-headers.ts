/**
 * Headers for every response, and the Content-Security-Policy for HTML.
 * No inline script or style anywhere; framing is refused (RFC 9700 §4.16).
 * `form-action` must also allow the client's redirect targets: Chromium
 * applies it to the redirects that follow a form POST, so the post-login
 * redirect to the client would otherwise be blocked.
 */
export const COMMON_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
});

export function contentSecurityPolicy(formActionOrigins: Iterable<string> = []): string {
  const extra = [...new Set(formActionOrigins)];
  return extra.length === 0 ? OWN_FORMS_ONLY : policyWithFormAction(["'self'", ...extra].join(' '));
}

function policyWithFormAction(formAction: string): string {
  return [
    "default-src 'none'",
    "script-src 'none'",
    "style-src 'self'",
    "img-src 'self' https:",
    `form-action ${formAction}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
  ].join('; ');
}

/** The policy of almost every answer, built once. */
const OWN_FORMS_ONLY = policyWithFormAction("'self'");

export const HSTS = 'max-age=31536000; includeSubDomains';

/** Origins of the URIs a client may be sent to after a form POST. */
export function clientFormActionOrigins(client: { redirectUris?: readonly string[] | undefined; postLogoutRedirectUris?: readonly string[] | undefined } | undefined): string[] {
  const origins: string[] = [];
  for (const uri of [...(client?.redirectUris ?? []), ...(client?.postLogoutRedirectUris ?? [])]) {
    try {
      const { protocol, origin } = new URL(uri);
      // Private-use schemes (native apps) have no origin; allow the scheme itself.
      origins.push(origin === 'null' ? protocol : origin);
    } catch { /* unparseable URIs are never redirected to anyway */ }
  }
  return origins;
}
