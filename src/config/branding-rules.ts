/**
 * What branding values may be: checked by the client rules
 * (client-field-rules.ts: the setup file, the CLI and the client service) and
 * for a realm's defaults by the setup file, with errors naming the field, and
 * again by the renderer (src/http/branding.ts), so that bad data already
 * stored is never shown. URLs end up inside HTML attributes
 * and a CSS `url("…")`: https: or a same-origin path, and none of the
 * characters that could leave either.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE_URL_CHARACTERS = /[\s"'()\\<>`\x00-\x1f\x7f]/;
// eslint-disable-next-line no-control-regex
const UNSAFE_NAME_CHARACTERS = /[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
export const MAX_NAME_LENGTH = 100;

/** Why a branding URL is refused, or undefined when it is fine. Shared by the client rules, the setup file and the renderer. */
export function brandingUrlProblem(value: string): string | undefined {
  if (value.length === 0 || value.length > 2000) return 'must be 1 to 2000 characters';
  if (UNSAFE_URL_CHARACTERS.test(value)) return 'must not contain spaces, quotes, parentheses, backslashes or angle brackets';
  if (value.startsWith('/') && !value.startsWith('//')) return undefined; // same-origin path
  if (!URL.canParse(value)) return 'must be an https: URL or a path on this server';
  const url = new URL(value);
  if (url.protocol !== 'https:') return 'must be an https: URL or a path on this server';
  if (url.username || url.password) return 'must not contain user information';
  return undefined;
}

export function brandingNameProblem(value: string): string | undefined {
  if (value.trim().length === 0) return 'must not be empty';
  if (value.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters`;
  if (UNSAFE_NAME_CHARACTERS.test(value)) return 'must not contain control or text-direction characters';
  return undefined;
}

export function colorProblem(value: string): string | undefined {
  return /^#[0-9a-fA-F]{6}$/.test(value) ? undefined : 'must be a colour like #1a73e8';
}

