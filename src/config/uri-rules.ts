/**
 * The rules a registered URI must follow, applied by the client rules
 * (client-rules.ts) that the setup file, the CLI and the client service
 * share. Each function returns a problem in words, or undefined when the URI
 * is acceptable. Values are never quoted back: the caller names the field.
 */

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const MAX_URI_LENGTH = 2000;
/** Schemes that run code or read local files when followed; never a redirect target. */
const DANGEROUS_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:']);

export type ApplicationType = 'web' | 'native';

export interface RedirectRules {
  /**
   * NODE_ENV=production: http://localhost… for web clients is refused. No
   * default, so that no caller gets the development answer by forgetting it.
   */
  production: boolean;
}

/**
 * RFC 6749 §3.1.2 (absolute, no fragment), RFC 8252 §7 for native apps
 * (private-use scheme with a reverse-domain name, loopback IP over http, or
 * a claimed https URI, which oidc-provider refuses on a loopback host),
 * OAuth 2.0 Security BCP §4.1 (exact URIs: no wildcards).
 */
export function redirectUriProblem(uri: string, applicationType: ApplicationType, { production }: RedirectRules): string | undefined {
  const basic = basicProblem(uri);
  if (basic) return basic;
  const url = new URL(uri);
  if (DANGEROUS_SCHEMES.has(url.protocol)) return `the ${url.protocol} scheme is not allowed`;
  if (uri.includes('#')) return 'must not contain a fragment (RFC 6749 §3.1.2)';
  if (uri.includes('*')) return 'must be exact: wildcards are not supported';
  if (url.username || url.password) return 'must not contain user information';

  if (url.protocol === 'https:') {
    if (applicationType === 'native' && LOOPBACK_HOSTS.has(url.hostname)) {
      return 'a native app\'s loopback redirect uses http (RFC 8252 §7.3); https is for claimed domain names';
    }
    return undefined;
  }
  if (url.protocol === 'http:') {
    if (!LOOPBACK_HOSTS.has(url.hostname)) return 'must use https (http only for localhost/loopback addresses)';
    if (applicationType === 'native') return undefined;
    return production ? 'must use https in production (http://localhost is for development)' : undefined;
  }
  if (applicationType !== 'native') return 'must use https (private-use schemes are for application_type native)';
  // RFC 8252 §7.1: a private-use scheme based on a domain name the app controls, e.g. com.example.app:/cb
  if (!/^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/.test(url.protocol)) {
    return 'a native app\'s private-use scheme must be a reverse domain name such as com.example.app: (RFC 8252 §7.1)';
  }
  return undefined;
}

/** A URL Latchkey will fetch or link to: jwks_uri, logo_uri, policy_uri, … */
export function httpsUrlProblem(uri: string): string | undefined {
  const basic = basicProblem(uri);
  if (basic) return basic;
  const url = new URL(uri);
  if (url.protocol !== 'https:') return 'must be an https: URL';
  if (url.username || url.password) return 'must not contain user information';
  return undefined;
}

function basicProblem(uri: string): string | undefined {
  if (uri.length === 0) return 'must not be empty';
  if (uri.length > MAX_URI_LENGTH) return `must be at most ${MAX_URI_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f\\"<>]/.test(uri)) return 'must not contain spaces, control characters, backslashes, quotes or angle brackets';
  if (!URL.canParse(uri)) return 'must be an absolute URI';
  return undefined;
}

const MAX_IDENTIFIER_LENGTH = 2000;

/**
 * RFC 8707 §2: an absolute URI without a fragment. `api://default` (Okta's
 * default audience) and `urn:…` are absolute URIs too.
 */
export function resourceIdentifierProblem(identifier: string): string | undefined {
  if (identifier.length > MAX_IDENTIFIER_LENGTH) return `at most ${MAX_IDENTIFIER_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(identifier)) return 'must not contain spaces or control characters';
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(identifier) || !URL.canParse(identifier)) return 'must be an absolute URI (RFC 8707 §2)';
  if (identifier.includes('#')) return 'must not contain a fragment (RFC 8707 §2)';
  return undefined;
}
