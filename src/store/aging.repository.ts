import type { Db } from './database.ts';
import type { Statement } from './statements.ts';

// Time passing, for tests (src/library/server-clock.ts): every instant a realm
// stores is moved `seconds` into the past, which to every check that compares
// it with the present (oidc-provider's, in JavaScript, and ours, in SQL) is the
// same as the present moving `seconds` forward.

/**
 * oidc-provider's instants in a payload, as epoch seconds: issued, expires,
 * the first issue of a rotated refresh token (its absolute lifetime), a
 * session's sign-in and a token's authentication time.
 */
const PAYLOAD_INSTANTS = ['iat', 'exp', 'iiat', 'loginTs', 'authTime'];

const AGE_PAYLOADS: Statement = {
  name: 'latchkey_age_payloads',
  effect: 'write',
  text: `update oidc_payloads set
           payload = payload || (
             select coalesce(jsonb_object_agg(key, to_jsonb(value::text::numeric - $2::int)), '{}'::jsonb)
               from jsonb_each(payload)
              where key = any($3::text[]) and jsonb_typeof(value) = 'number'),
           expires_at = expires_at - make_interval(secs => $2::int),
           consumed_at = consumed_at - make_interval(secs => $2::int)
         where realm = any($1::text[])`,
};

const AGE_INITIAL_ACCESS_TOKENS: Statement = {
  name: 'latchkey_age_initial_access_tokens',
  effect: 'write',
  text: `update initial_access_tokens set expires_at = expires_at - make_interval(secs => $2::int), created_at = created_at - make_interval(secs => $2::int)
         where realm = any($1::text[])`,
};

const AGE_PREVIOUS_SECRETS: Statement = {
  name: 'latchkey_age_previous_secrets',
  effect: 'write',
  text: `update clients set previous_secret_expires_at = previous_secret_expires_at - make_interval(secs => $2::int)
         where realm = any($1::text[]) and previous_secret_expires_at is not null
         returning realm, client_id`,
};

/**
 * Ages what the realms store by `seconds` (a whole number): tokens, codes,
 * sessions, grants and interactions; registration's initial access tokens;
 * a rotated client secret's overlap. Returns the clients whose overlap
 * moved, for the caches that hold it. One transaction.
 */
export async function ageRealms(db: Db, realms: readonly string[], seconds: number): Promise<{ realm: string; client_id: string }[]> {
  return db.atomically(async () => {
    await db.run(AGE_PAYLOADS, [realms, seconds, PAYLOAD_INSTANTS]);
    await db.run(AGE_INITIAL_ACCESS_TOKENS, [realms, seconds]);
    return (await db.run<{ realm: string; client_id: string }>(AGE_PREVIOUS_SECRETS, [realms, seconds])).rows;
  });
}
