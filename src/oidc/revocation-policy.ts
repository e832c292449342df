import { errors } from 'oidc-provider';

/**
 * Who may revoke which token (RFC 7009 §2.1: "the authorization server
 * first validates the client credentials … and then verifies whether the
 * token was issued to the client making the revocation request"): a client
 * its own tokens only. Another confidential client's attempt is
 * invalid_request; a public client's is answered as done and changes
 * nothing, so that it cannot probe which tokens exist. The engine's default
 * policy says the same, and warns at every use that it is a default: this
 * one is the decision, stated.
 */
export async function revocationPolicy(_ctx: unknown, client: { clientId: string; clientAuthMethod?: string | undefined }, token: { clientId?: string | undefined }): Promise<boolean> {
  if (token.clientId === client.clientId) return true;
  if (client.clientAuthMethod === 'none') return false;
  throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
}
