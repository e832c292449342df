import type { RouteOptions } from 'fastify';
import type Provider from 'oidc-provider';

/**
 * What a path is, for answering requests that no route takes (404 or 405
 * with `Allow`) and for choosing the shape of an error:
 *
 * - `page`: a person's browser is there (authorization, its resume,
 *   end-session and Latchkey's interaction pages): errors are HTML pages.
 * - `api`: a program is there (token, introspection, revocation, userinfo,
 *   JWKS, discovery, PAR): errors are RFC 6749 §5.2 JSON.
 * - neither (an unknown path): the request's Accept header decides.
 */
export type EndpointKind = 'page' | 'api';

export interface Endpoint {
  kind: EndpointKind | undefined;
  /** The route's path with its parameters as `:name` (what the request log shows). */
  pattern: string;
  /** Methods the path answers; GET implies HEAD. */
  methods: readonly string[];
}

interface Pattern {
  segments: readonly (string | null)[];
  endpoint: Endpoint;
}

/**
 * oidc-provider's routes and their methods (lib/helpers/initialize_app.js,
 * with enableHttpPostMethods off). Paths come from the provider itself, so
 * routes it does not serve (features left off) drop out. This table only
 * tells 404 from 405 and picks error shapes: the engine still routes.
 */
const ENGINE_ROUTES: readonly { name: string; methods: readonly string[]; kind: EndpointKind; suffix?: string }[] = [
  { name: 'authorization', methods: ['GET'], kind: 'page' },
  { name: 'authorization', methods: ['GET'], kind: 'page', suffix: '/:uid' }, // resume
  { name: 'end_session', methods: ['GET'], kind: 'page' },
  { name: 'end_session_confirm', methods: ['POST'], kind: 'page' },
  { name: 'end_session_success', methods: ['GET'], kind: 'page' },
  { name: 'token', methods: ['POST', 'OPTIONS'], kind: 'api' },
  { name: 'userinfo', methods: ['GET', 'POST', 'OPTIONS'], kind: 'api' },
  { name: 'jwks', methods: ['GET', 'OPTIONS'], kind: 'api' },
  { name: 'introspection', methods: ['POST', 'OPTIONS'], kind: 'api' },
  { name: 'revocation', methods: ['POST', 'OPTIONS'], kind: 'api' },
  { name: 'pushed_authorization_request', methods: ['POST', 'OPTIONS'], kind: 'api' },
  // Dynamic client registration (RFC 7591) and its management (RFC 7592), where the realm enables them.
  { name: 'registration', methods: ['POST'], kind: 'api' },
  { name: 'registration', methods: ['GET', 'PUT', 'DELETE'], kind: 'api', suffix: '/:clientId' },
];
// Fixed in the engine, not configurable through `routes`.
const DISCOVERY_PATHS = ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'];

function withHead(methods: readonly string[]): string[] {
  return methods.includes('GET') ? [...methods, 'HEAD'] : [...methods];
}

function segmentsOf(path: string): string[] {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed.split('/');
}

function compile(path: string, endpoint: Endpoint, caseless: boolean): Pattern {
  return {
    segments: segmentsOf(path).map((s) => (s.startsWith(':') ? null : caseless ? s.toUpperCase() : s)),
    endpoint,
  };
}

function matches(pattern: Pattern, segments: readonly string[]): boolean {
  return pattern.segments.length === segments.length
    && pattern.segments.every((s, i) => (s === null ? segments[i] !== '' : s === segments[i]));
}

function keyOf(pattern: Pattern): string {
  return pattern.segments.map((s) => s ?? ':').join('/');
}

const engineTables = new WeakMap<Provider, Pattern[]>();

/** The engine endpoint at a path relative to the realm's mount, if any (matched like the engine does: case-insensitively). */
export function engineEndpoint(provider: Provider, path: string): Endpoint | undefined {
  let table = engineTables.get(provider);
  if (!table) {
    table = [];
    for (const route of ENGINE_ROUTES) {
      let routePath: string;
      try {
        routePath = provider.pathFor(route.name, { mountPath: '' });
      } catch {
        continue; // not served by this provider
      }
      const pattern = `${routePath}${route.suffix ?? ''}`;
      table.push(compile(pattern, { kind: route.kind, pattern, methods: withHead(route.methods) }, true));
    }
    for (const pattern of DISCOVERY_PATHS) table.push(compile(pattern, { kind: 'api', pattern, methods: withHead(['GET', 'OPTIONS']) }, true));
    engineTables.set(provider, table);
  }
  const segments = segmentsOf(path.toUpperCase());
  return table.find((pattern) => matches(pattern, segments))?.endpoint;
}

/** Route config that keeps a route out of HostRoutes (the realm mounts' catch-alls). */
export const ENGINE_MOUNT = { engineMount: true } as const;

/**
 * Latchkey's own Fastify routes, recorded as they are added (an onRoute
 * hook), so that a wrong method on one of them is a 405 naming the right
 * ones. Pages live under `<mount>interaction/`; a route may declare its
 * kind with `config: { endpointKind }`.
 */
export class HostRoutes {
  readonly #patterns: Pattern[] = [];

  add(route: RouteOptions): void {
    if ((route.config as { engineMount?: boolean } | undefined)?.engineMount) return;
    const methods = withHead(Array.isArray(route.method) ? route.method : [route.method]);
    const declared = (route.config as { endpointKind?: EndpointKind } | undefined)?.endpointKind;
    const kind = declared ?? (/\/interaction\/:/.test(route.url) ? 'page' : undefined);
    const added = compile(route.url, { kind, pattern: route.url, methods }, false);
    // GET and its HEAD twin, or one URL with several routes: one entry with all their methods.
    const existing = this.#patterns.find((p) => keyOf(p) === keyOf(added));
    if (existing) existing.endpoint = { ...existing.endpoint, methods: [...new Set([...existing.endpoint.methods, ...methods])] };
    else this.#patterns.push(added);
  }

  /** The methods and kind of Latchkey's own routes at a full path. */
  match(path: string): Endpoint | undefined {
    const segments = segmentsOf(path);
    return this.#patterns.find((pattern) => matches(pattern, segments))?.endpoint;
  }
}
