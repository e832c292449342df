import { Type, type TLiteral } from '@sinclair/typebox';
import { SIGNING_ALGORITHMS } from '../keys/algorithms.ts';
import { adminRoute } from './admin-route.ts';
import { DateTime } from './admin-schemas.ts';

/**
 * Signing keys, through the rules `latchkey keys` uses
 * (src/keys/key-administration.ts): list, generate for an algorithm without
 * a key, staged rotation. They act on the keys folder, which every server
 * sharing it re-reads within LATCHKEY_KEY_CHECK_SECONDS; a change holds the
 * folder's lock, so two rotations at once cannot both stage. Answers carry
 * public key material at most.
 */
const Algorithm = Type.Union(SIGNING_ALGORITHMS.map((alg) => Type.Literal(alg)) as TLiteral<(typeof SIGNING_ALGORITHMS)[number]>[]);

const KeySchema = Type.Object({
  kid: Type.String({ description: 'RFC 7638 thumbprint' }),
  alg: Type.String({ description: 'RS256/PS256 for RSA keys (one key serves both), else ES256, ES384 or EdDSA' }),
  use: Type.Literal('sig'),
  status: Type.Union(['active', 'next', 'retired', 'expired', 'verify-only'].map((s) => Type.Literal(s)), {
    description: 'active: signs; next: staged, published, signs from activates_at; retired: published until the tokens it signed expired (drop_at); expired: no longer published; verify-only: published, never signs',
  }),
  signs: Type.Boolean(),
  source: Type.String({ description: 'the key file (relative to the keys folder) or keystore entry' }),
  created: DateTime,
  activates_at: Type.Optional(DateTime),
  retires_at: Type.Optional(DateTime),
  drop_at: Type.Optional(DateTime),
  fingerprint: Type.String({ description: 'SHA-256 of the public key (SubjectPublicKeyInfo), base64url' }),
  public_jwk: Type.Object({
    kty: Type.String(),
    kid: Type.String(),
    use: Type.String(),
    alg: Type.Optional(Type.String()),
    crv: Type.Optional(Type.String()),
    x: Type.Optional(Type.String()),
    y: Type.Optional(Type.String()),
    n: Type.Optional(Type.String()),
    e: Type.Optional(Type.String()),
    x5c: Type.Optional(Type.Array(Type.String())),
  }, { description: 'the public key as the JWKS publishes it; the serializer writes no other member' }),
});

const RotationSchema = Type.Object({
  delay_seconds: Type.Integer(),
  activates_at: DateTime,
  drop_at: DateTime,
  staged: Type.Array(Type.Object({
    alg: Type.String(),
    kid: Type.String({ description: 'the new key: published now, signs from activates_at' }),
    replaces: Type.Array(Type.String(), { description: 'the keys it replaces: they stop signing at activates_at and leave the JWKS at drop_at' }),
  })),
  warning: Type.Optional(Type.String()),
});

export const keyRoutes = [
  adminRoute({
    method: 'GET',
    url: '/v1/keys',
    scope: 'admin:read',
    operationId: 'listKeys',
    summary: 'List the signing keys, their status and schedule',
    description: 'Every key in the keys folder and the configured key files, expired ones included, as `latchkey keys list` shows them. Public material only.',
    tag: 'keys',
    schema: { response: { 200: Type.Object({ items: Type.Array(KeySchema) }) } },
    async handle(_input, services) {
      return { status: 200, body: { items: await services.keys.list() } };
    },
  }),
  adminRoute({
    method: 'POST',
    url: '/v1/keys',
    scope: 'admin:write',
    outsideUnitOfWork: 'it writes a key file, under the keys folder\'s lock, and no database',
    operationId: 'generateKey',
    summary: 'Generate a key for an algorithm that has no signing key',
    description: 'Writes a new PKCS#8 key (mode 0600) to the keys folder; servers sign with it within LATCHKEY_KEY_CHECK_SECONDS. An algorithm that already has a signing key is a 409: rotate it instead.',
    tag: 'keys',
    schema: {
      body: Type.Object({ alg: Algorithm }, { additionalProperties: false }),
      response: { 201: KeySchema },
    },
    async handle({ body }, services) {
      return { status: 201, body: await services.keys.generate(body.alg) };
    },
  }),
  adminRoute({
    method: 'POST',
    url: '/v1/keys/rotations',
    scope: 'admin:write',
    outsideUnitOfWork: 'it writes key files and the schedule, under the keys folder\'s lock, and only reads the database (token lifetimes)',
    operationId: 'rotateKeys',
    summary: 'Stage the replacement of signing keys',
    description: 'As `latchkey keys rotate`: for each algorithm given (every signing one when none is), a new key is published now and signs after the delay (LATCHKEY_KEY_ACTIVATION_DELAY_SECONDS unless given); the key it replaces stays published until every token it signed has expired. A rotation already staged for one of the algorithms is a 409.',
    tag: 'keys',
    schema: {
      body: Type.Object({
        algorithms: Type.Optional(Type.Array(Algorithm, { minItems: 1, maxItems: SIGNING_ALGORITHMS.length })),
        delay_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86_400, description: '0 signs at once (after a compromise); relying parties with a cached JWKS then fail until they refetch' })),
      }, { additionalProperties: false }),
      response: { 201: RotationSchema },
    },
    async handle({ body }, services) {
      return { status: 201, body: await services.keys.rotate({ algorithms: body.algorithms, delaySeconds: body.delay_seconds }) };
    },
  }),
];
