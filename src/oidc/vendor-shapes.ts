import type Provider from 'oidc-provider';
import type { Adapter, KoaContextWithOIDC } from 'oidc-provider';
import type { StoredUser } from '../store/user.repository.ts';
import {
  acceptRepeatedClientCredentials, issueRefreshTokensAsJwts, keycloakAccessTokenClaims, KeycloakRefreshTokenAdapter,
  keycloakResponses, RefreshTokenJwts, shapeKeycloakIdTokens,
} from './keycloak-shapes.ts';
import { acceptBasicClientIdOnly, oktaAccessTokenClaims, oktaSubject, shapeOktaIdTokens } from './okta-shapes.ts';
import type { RealmLayout } from './realm-layouts.ts';
import { admitLayoutTokensAtUserinfo, type JwtHandles } from './structured-access-tokens.ts';

type TokenLike = Parameters<typeof keycloakAccessTokenClaims>[1];

/**
 * What a realm's layout changes in the provider (src/oidc/realm-layouts.ts):
 * its vendor's access-token claims, its refresh tokens' form, the JWT
 * customisation, and the steps installed on the provider. Nothing for the
 * standard layout. provider-factory.ts asks this one place.
 */
export interface VendorShapes {
  accessTokenClaims(ctx: KoaContextWithOIDC, token: TokenLike, findUser: (accountId: string) => Promise<StoredUser | undefined>): Promise<Record<string, unknown> | undefined>;
  /** The RefreshToken adapter of this layout, or undefined for the default one. */
  refreshTokenAdapter(payloads: Adapter, handles: JwtHandles): Adapter | undefined;
  customizeJwt(token: { kind?: string; extra?: Record<string, unknown> }, payload: Record<string, unknown>): void;
  install(provider: Provider, handles: JwtHandles): void;
}

export function vendorShapes(layout: RealmLayout, { issuer, digestKey }: { issuer: string; digestKey: Buffer }): VendorShapes {
  const installUserinfo = (provider: Provider, handles: JwtHandles) => {
    if (layout.defaultAudience !== undefined) admitLayoutTokensAtUserinfo(provider, handles, layout.defaultAudience);
  };
  switch (layout.kind) {
    case 'keycloak': {
      const refreshJwts = new RefreshTokenJwts(digestKey, issuer);
      return {
        accessTokenClaims: keycloakAccessTokenClaims,
        refreshTokenAdapter: (payloads, handles) => new KeycloakRefreshTokenAdapter(payloads, refreshJwts, handles),
        customizeJwt: () => {},
        install(provider, handles) {
          installUserinfo(provider, handles);
          issueRefreshTokensAsJwts(provider, refreshJwts);
          shapeKeycloakIdTokens(provider);
          acceptRepeatedClientCredentials(provider);
          provider.use(keycloakResponses());
        },
      };
    }
    case 'okta':
      return {
        accessTokenClaims: oktaAccessTokenClaims,
        refreshTokenAdapter: () => undefined,
        customizeJwt: oktaSubject,
        install(provider, handles) {
          installUserinfo(provider, handles);
          shapeOktaIdTokens(provider);
          acceptBasicClientIdOnly(provider);
        },
      };
    case 'standard':
      return { accessTokenClaims: async () => undefined, refreshTokenAdapter: () => undefined, customizeJwt: () => {}, install: installUserinfo };
  }
}
