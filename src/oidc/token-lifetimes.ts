/** Token lifetimes in seconds, per realm with per-client overrides. */
export interface TokenLifetimes {
  access_token: number;
  client_credentials: number;
  refresh_token: number;
  id_token: number;
  authorization_code: number;
  session: number;
  grant: number;
  interaction: number;
}

/**
 * Defaults: short access tokens (opaque, introspectable, revocable at once),
 * a 60 s code (RFC 6749 §4.1.2 recommends ≤ 10 min; OIDF tests use 60 s),
 * rotating refresh tokens for 14 days. The IFS profile is 180 s / 1800 s.
 */
export const DEFAULT_LIFETIMES: TokenLifetimes = Object.freeze({
  access_token: 600,
  client_credentials: 600,
  refresh_token: 14 * 24 * 3600,
  id_token: 3600,
  authorization_code: 60,
  session: 14 * 24 * 3600,
  grant: 14 * 24 * 3600,
  interaction: 600,
});

export function resolveLifetimes(realm?: Partial<TokenLifetimes>): TokenLifetimes {
  return Object.freeze({ ...DEFAULT_LIFETIMES, ...stripUndefined(realm) });
}

export function lifetimeFor(
  kind: keyof TokenLifetimes,
  realm: TokenLifetimes,
  clientTtl: unknown,
): number {
  const override = (clientTtl as Partial<TokenLifetimes> | undefined)?.[kind];
  return typeof override === 'number' && override > 0 ? override : realm[kind];
}

function stripUndefined<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}
