import { createHash } from 'node:crypto';

/**
 * Headers for every response, and the Content-Security-Policy for HTML.
 * No inline script or style anywhere; framing is refused (RFC 9700 §4.16).
 * The one exception is the pages keycloak-js frames (framedPagePolicy):
 * frameable, each with one inline script allowed by its hash.
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

/** A CSP source for one inline script, by its exact text (CSP Level 3 §8.4 hash-source). */
export function scriptHash(source: string): string {
  return `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`;
}

/**
 * The policy of a page made to run inside another site's frame (Keycloak's
 * session iframes, src/http/keycloak-session-pages.ts): nothing loads but
 * the one inline script named by its hash ('unsafe-inline' never), it may
 * call its own origin only when `connectSelf`, it has no forms, no base, no
 * plugins, and its script may not write HTML into the DOM (Trusted Types
 * with no policy). `frame-ancestors` is the caller's to give.
 */
export function framedPagePolicy({ script, connectSelf, frameAncestors }: { script?: string | undefined; connectSelf: boolean; frameAncestors: string }): string {
  return [
    "default-src 'none'",
    `script-src ${script === undefined ? "'none'" : scriptHash(script)}`,
    ...connectSelf ? ["connect-src 'self'"] : [],
    `frame-ancestors ${frameAncestors}`,
    "form-action 'none'",
    "base-uri 'none'",
    "object-src 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
}

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
