import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import { requestErrors } from '../errors/index.ts';
import { loginStatus, webOriginsOfClient } from '../oidc/login-status.ts';
import { framedPagePolicy } from './security-headers.ts';

/**
 * The pages keycloak-js frames, for realms in the keycloak layout only, so
 * that its defaults (`checkLoginIframe: true`) work and it never waits out
 * its 10 s timeout:
 *
 *   GET <realm>/protocol/openid-connect/3p-cookies/step1.html
 *         → sets a probe cookie, 302 to step2.html
 *   GET …/3p-cookies/step2.html
 *         → posts "supported" (the probe came back) or "unsupported" to the parent
 *   GET …/login-status-iframe.html
 *         → the status iframe: keycloak-js posts "<client_id> <sid>", it posts back
 *           "unchanged" | "changed" | "error" to the sender's origin
 *   GET …/login-status-iframe.html/init?client_id&origin
 *         → 204 if origin is one of the client's web origins, else 403 (Keycloak's preCheck)
 *   GET …/login-status-iframe.html/status?client_id&origin&session_state
 *         → {"status": "unchanged" | "changed"} (Latchkey's; asked by the iframe alone)
 *
 * The session check is made on the server (src/oidc/login-status.ts), from
 * the engine's own session cookie, which stays HttpOnly and SameSite=Lax:
 * the iframe asks its own origin with a same-origin fetch. Keycloak instead
 * has the iframe compare a JS-readable KEYCLOAK_SESSION cookie
 * (SameSite=None) with a hash of the sid; that would add a cookie readable
 * by script and sent in every cross-site context, and it can only say what
 * the cookie said when it was last written (not a session ended at the
 * server or a grant revoked). Here nothing readable by script is added, and
 * the answer is the store's.
 *
 * The cost: the session cookie reaches the iframe only where the RP and
 * Latchkey are the same site (e.g. app.example.com and id.example.com, or
 * two ports of one host); in a cross-site frame browsers withhold Lax
 * cookies. So the third-party-cookie check asks exactly that question: the
 * probe cookie has the session cookie's attributes (HttpOnly, SameSite=Lax,
 * Secure over https), and step2 says "supported" only if it came back.
 * Where it does not, keycloak-js hears "unsupported" and turns its status
 * iframe off, as it does under Keycloak when a browser blocks third-party
 * cookies, instead of hearing "changed" every 5 s and looping through
 * sign-in.
 *
 * Framing: keycloak-js loads these pages without naming its client, so when
 * their headers are written nothing says whose they are; they may be framed
 * by any page (`frame-ancestors *`, as Keycloak's). Listing every client's
 * origins instead would publish them to anyone and protect nothing more:
 * the pages show nothing and do nothing until a message arrives from the
 * frame's parent, whose origin (given by the browser, not the sender) must
 * be a web origin of the client named (/init, and again at /status), and
 * the only reply goes to that origin. The scripts are inline, allowed by
 * their hash alone; they read no cookie and hold no secret.
 */
export interface KeycloakSessionPagesOptions {
  /** The realm's provider of the moment: a key rotation swaps it (src/latchkey.ts). */
  provider: () => Provider;
  /** The realm's mount path, ending in `/`. */
  mountPath: string;
  /** The issuer is https: the probe cookie is Secure, as the engine's cookies are. */
  httpsIssuer: boolean;
}

/** The probe's name, and its lifetime: long enough for one redirect. */
const PROBE_COOKIE = 'latchkey_3p_probe';
const PROBE_SECONDS = 60;

/** Any page may frame these; see the module comment. */
const ANY_FRAME_ANCESTOR = '*';

const SUPPORTED_SCRIPT = 'parent.postMessage("supported", "*");';
const UNSUPPORTED_SCRIPT = 'parent.postMessage("unsupported", "*");';

/**
 * The status iframe's script. A message from the parent, `<client_id> <sid>`
 * (sid empty when the client has no session), is checked once with /init
 * (a refused client and origin stay refused for the frame's life, as in
 * Keycloak's), then every time with /status; a failure of any kind is
 * "error". It never answers a frame that is not its parent, nor an opaque
 * origin.
 */
const LOGIN_STATUS_SCRIPT = `"use strict";
(() => {
  const here = location.pathname.replace(/\\/$/, "");
  let admission;
  const ask = (path, query) => fetch(here + path + "?" + new URLSearchParams(query), { credentials: "same-origin", cache: "no-store", redirect: "error" });
  const admit = (clientId, origin) => {
    admission ??= ask("/init", { client_id: clientId, origin }).then(
      (response) => (response.status === 204 ? { clientId, origin } : null),
      () => { admission = undefined; return null; });
    return admission;
  };
  const statusOf = async (clientId, origin, sessionState) => {
    const admitted = await admit(clientId, origin);
    if (!admitted || admitted.clientId !== clientId || admitted.origin !== origin) return "error";
    try {
      const response = await ask("/status", { client_id: clientId, origin, session_state: sessionState });
      const status = response.ok ? (await response.json()).status : undefined;
      return status === "unchanged" || status === "changed" ? status : "error";
    } catch {
      return "error";
    }
  };
  addEventListener("message", async (event) => {
    if (event.source !== parent || event.origin === "null" || typeof event.data !== "string") return;
    const parts = event.data.split(" ");
    if (parts.length !== 2) return;
    event.source.postMessage(await statusOf(parts[0], event.origin, parts[1]), event.origin);
  });
})();`;

function page(title: string, script: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title><script>${script}</script></head><body></body></html>
`;
}

const PAGES = {
  supported: { body: page('Latchkey cookie check', SUPPORTED_SCRIPT), csp: framedPagePolicy({ script: SUPPORTED_SCRIPT, connectSelf: false, frameAncestors: ANY_FRAME_ANCESTOR }) },
  unsupported: { body: page('Latchkey cookie check', UNSUPPORTED_SCRIPT), csp: framedPagePolicy({ script: UNSUPPORTED_SCRIPT, connectSelf: false, frameAncestors: ANY_FRAME_ANCESTOR }) },
  loginStatus: { body: page('Latchkey login status', LOGIN_STATUS_SCRIPT), csp: framedPagePolicy({ script: LOGIN_STATUS_SCRIPT, connectSelf: true, frameAncestors: ANY_FRAME_ANCESTOR }) },
} as const;
const REDIRECT_POLICY = framedPagePolicy({ connectSelf: false, frameAncestors: ANY_FRAME_ANCESTOR });

const ClientAndOrigin = {
  client_id: Type.String({ minLength: 1, maxLength: 256 }),
  origin: Type.String({ minLength: 1, maxLength: 2048 }),
};
const InitQuery = Type.Object(ClientAndOrigin);
// keycloak-js sends an empty sid when its client has no session.
const StatusQuery = Type.Object({ ...ClientAndOrigin, session_state: Type.String({ maxLength: 256 }) });
const StatusAnswer = Type.Object({ status: Type.Union([Type.Literal('unchanged'), Type.Literal('changed')]) }, { additionalProperties: false });

const asPage = { endpointKind: 'page' } as const;
const asApi = { endpointKind: 'api' } as const;

export async function keycloakSessionPages(app: FastifyInstance, options: KeycloakSessionPagesOptions): Promise<void> {
  const { provider: current, mountPath } = options;
  const base = `${mountPath}protocol/openid-connect/`;
  const probePath = `${base}3p-cookies/`;

  const sendPage = (reply: FastifyReply, { body, csp }: { body: string; csp: string }) => reply
    .header('content-security-policy', csp)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(body);

  /** As the engine's cookies (src/oidc/provider-factory.ts `cookies`): HttpOnly, SameSite=Lax, Secure over TLS. */
  const probeCookie = (request: FastifyRequest, value: string, maxAge: number) =>
    `${PROBE_COOKIE}=${value}; Path=${probePath}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${options.httpsIssuer || request.protocol === 'https' ? '; Secure' : ''}`;

  app.get(`${probePath}step1.html`, { config: asPage }, async (request, reply) => reply
    .code(302)
    .header('set-cookie', probeCookie(request, '1', PROBE_SECONDS))
    .header('location', `${probePath}step2.html`)
    .header('content-security-policy', REDIRECT_POLICY)
    .header('cache-control', 'no-store')
    .send());

  app.get(`${probePath}step2.html`, { config: asPage }, async (request, reply) => {
    const cameBack = cookieNamed(request.headers.cookie, PROBE_COOKIE) === '1';
    if (cameBack) reply.header('set-cookie', probeCookie(request, '', 0));
    return sendPage(reply, cameBack ? PAGES.supported : PAGES.unsupported);
  });

  app.get(`${base}login-status-iframe.html`, { config: asPage }, async (_request, reply) => sendPage(reply, PAGES.loginStatus));

  /** The client exists and `origin` is one of its web origins; otherwise 403, whichever it was. */
  async function assertWebOrigin(clientId: string, origin: string) {
    const origins = await webOriginsOfClient(current(), clientId);
    if (!origins?.has(origin)) throw requestErrors.notAWebOrigin();
  }

  app.get<{ Querystring: Static<typeof InitQuery> }>(`${base}login-status-iframe.html/init`, {
    config: asApi, schema: { querystring: InitQuery },
  }, async (request, reply) => {
    await assertWebOrigin(request.query.client_id, request.query.origin);
    return reply.code(204).header('cache-control', 'no-store').header('cross-origin-resource-policy', 'same-origin').send();
  });

  app.get<{ Querystring: Static<typeof StatusQuery> }>(`${base}login-status-iframe.html/status`, {
    config: asApi, schema: { querystring: StatusQuery, response: { 200: StatusAnswer } },
  }, async (request, reply) => {
    // The session cookie rides along; only the iframe (same origin) may ask. Browsers send
    // Sec-Fetch-Site on every request; a program without it holds its own cookies anyway.
    const site = request.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') throw requestErrors.notFromOwnPage();
    const { client_id: clientId, origin, session_state: sessionState } = request.query;
    await assertWebOrigin(clientId, origin);
    const status = await loginStatus(current(), { req: request.raw, res: reply.raw }, clientId, sessionState);
    return reply.header('cache-control', 'no-store').header('cross-origin-resource-policy', 'same-origin').send({ status });
  });
}

/** One cookie's value from a Cookie header (RFC 6265 §5.4), or undefined. */
function cookieNamed(header: string | undefined, name: string): string | undefined {
  for (const pair of header?.split(';') ?? []) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}
