import { brandingNameProblem, brandingUrlProblem, colorProblem } from '../config/branding-rules.ts';

/**
 * Per-client branding of the sign-in pages (iPIM's application name,
 * background image and colours; Keycloak/Okta themes): a realm default that
 * clients override attribute by attribute. Every value is checked again here,
 * at render time, so bad data already in the database is never rendered:
 * URLs must be https: (or a same-origin path) with none of the characters
 * that could leave a CSS `url("…")` or an HTML attribute, colours are #rrggbb,
 * names are short and free of control and bidi-override characters.
 */
export interface Branding {
  appName?: string | undefined;
  logoUri?: string | undefined;
  backgroundUri?: string | undefined;
  primaryColor?: string | undefined;
  policyUri?: string | undefined;
  tosUri?: string | undefined;
}

/** A realm's default branding, as declared in the setup file (`realms[].branding`). */
export interface RealmBranding {
  app_name?: string | undefined;
  logo_uri?: string | undefined;
  background_uri?: string | undefined;
  primary_color?: string | undefined;
  policy_uri?: string | undefined;
  tos_uri?: string | undefined;
}

const url = (value: unknown) => (typeof value === 'string' && !brandingUrlProblem(value) ? value : undefined);
const name = (value: unknown) => (typeof value === 'string' && !brandingNameProblem(value) ? value : undefined);
const color = (value: unknown) => (typeof value === 'string' && !colorProblem(value) ? value.toLowerCase() : undefined);

/** The client's own attributes where valid, else the realm's, else nothing (Latchkey's look). */
export function brandingFor(realm: RealmBranding | undefined, client: Record<string, unknown> | undefined): Branding {
  return {
    appName: name(client?.['client_name']) ?? name(realm?.app_name),
    logoUri: url(client?.['logo_uri']) ?? url(realm?.logo_uri),
    backgroundUri: url(client?.['background_uri']) ?? url(realm?.background_uri),
    primaryColor: color(client?.['primary_color']) ?? color(realm?.primary_color),
    policyUri: url(client?.['policy_uri']) ?? url(realm?.policy_uri),
    tosUri: url(client?.['tos_uri']) ?? url(realm?.tos_uri),
  };
}

/**
 * The branding as a stylesheet, so pages need no inline style under the
 * strict CSP (`style-src 'self'`). Values were validated above: the URL
 * cannot close the string or the url() and the colour is six hex digits.
 */
export function brandingStylesheet(branding: Branding): string {
  const rules: string[] = [];
  if (branding.primaryColor) rules.push(`:root { --primary: ${branding.primaryColor}; }`);
  if (branding.backgroundUri) {
    rules.push(`body { background-image: url("${branding.backgroundUri}"); background-size: cover; background-position: center; background-attachment: fixed; }`);
  }
  return `${rules.join('\n')}\n`;
}

/** The URL of the stylesheet for a client of a realm mounted at `mountPath`. */
export function brandingStylesheetPath(mountPath: string, clientId: string | undefined): string {
  return `${mountPath}branding.css${clientId ? `?client_id=${encodeURIComponent(clientId)}` : ''}`;
}

/** A page's branding and the stylesheet that carries it. */
export interface PageBranding {
  branding: Branding;
  brandingStylesheet: string;
}

/**
 * The branding of a page of a realm: its client's when the page belongs to
 * one, else the realm's. Every page resolves it here.
 */
export function pageBrandingFor(
  realm: { mountPath: string; realmBranding?: RealmBranding | undefined },
  client: { clientId: string; metadata(): object } | undefined,
): PageBranding {
  return {
    branding: brandingFor(realm.realmBranding, client?.metadata() as Record<string, unknown> | undefined),
    brandingStylesheet: brandingStylesheetPath(realm.mountPath, client?.clientId),
  };
}
