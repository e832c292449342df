/**
 * The JWS algorithms Latchkey signs with (RFC 7518 §3, RFC 8037 §3.1), and
 * what an RSA key implies: one RSA key serves RS256 and PS256 alike (the
 * same key, two paddings, RFC 7518 §3.3 and §3.5), so an RSA key is filed
 * and generated as RS256 and published for both. Every list of algorithms
 * and every "RS256 implies PS256" comes from here.
 */
export const SIGNING_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export function isSigningAlgorithm(value: string): value is SigningAlgorithm {
  return (SIGNING_ALGORITHMS as readonly string[]).includes(value);
}

/** The algorithms a key of `keyAlg` serves. */
export function algorithmsServedBy(keyAlg: string): string[] {
  return keyAlg === 'RS256' ? ['RS256', 'PS256'] : [keyAlg];
}

/** The key algorithm that serves `alg`: PS256 is served by an RS256 (RSA) key. */
export function keyAlgorithmFor(alg: SigningAlgorithm): SigningAlgorithm {
  return alg === 'PS256' ? 'RS256' : alg;
}
