import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { webOriginsOf } from '../clients/client-metadata.ts';

/**
 * What Keycloak's login-status iframe answers about a browser's session
 * (OpenID Connect Session Management 1.0 §3.2's check_session_iframe, as
 * Keycloak shapes it and keycloak-js reads it), decided on the server from
 * the engine's own session:
 *
 *   unchanged  the browser's live session at Latchkey (its signed, HttpOnly
 *              session cookie, found in the store and not expired) is signed
 *              in and still holds `sessionState` as the `sid` of its
 *              authorization for the client, and that authorization's grant
 *              is still there; or, when the client knows no session
 *              (`sessionState` empty), the browser is signed in nowhere;
 *   changed    anything else: no session, another one, signed out, the
 *              client's authorization ended (logout) or its grant revoked.
 *
 * `sid` is per client in oidc-provider (Session#sidFor), and it is what the
 * keycloak layout puts in every token (src/oidc/keycloak-shapes.ts), so the
 * RP can only know it from its own tokens.
 */
export type LoginStatus = 'unchanged' | 'changed';

/** The client's web origins (src/clients/client-metadata.ts), or undefined when the client does not exist. */
export async function webOriginsOfClient(provider: Provider, clientId: string): Promise<ReadonlySet<string> | undefined> {
  const client = await provider.Client.find(clientId);
  return client ? webOriginsOf(client as unknown as Parameters<typeof webOriginsOf>[0]) : undefined;
}

/**
 * The login status of the browser that sent `req` for `clientId`. Reads the
 * session cookie as the engine does (signed with the realm's cookie keys):
 * like every engine endpoint, that read clears a signature cookie that does
 * not verify and re-signs one made with a retired cookie key. Nothing else
 * is written; the session is neither saved nor extended.
 */
export async function loginStatus(
  provider: Provider,
  exchange: { req: IncomingMessage; res: ServerResponse },
  clientId: string,
  sessionState: string,
): Promise<LoginStatus> {
  // Session.get takes a Koa context; the provider is a Koa application and makes one from the raw request.
  const session = await provider.Session.get(provider.createContext(exchange.req, exchange.res));
  const signedIn = typeof session.accountId === 'string' && session.accountId !== '';
  if (sessionState === '') return signedIn ? 'changed' : 'unchanged';
  if (!signedIn) return 'changed';
  const authorization = session.authorizations?.[clientId];
  if (!authorization?.sid || authorization.sid !== sessionState) return 'changed';
  if (authorization.grantId && !await provider.Grant.find(authorization.grantId)) return 'changed';
  return 'unchanged';
}
