import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { UnitOfWork } from '../store/unit-of-work.ts';
import { databaseUnavailable, RETRY_AFTER_SECONDS } from '../errors/index.ts';

type Next = () => Promise<void>;
type RenderError = NonNullable<Configuration['renderError']>;

/**
 * Runs each request the engine handles in one unit of work
 * (src/store/unit-of-work.ts) and settles it before the answer leaves:
 *
 * - 2xx/3xx, and 4xx: committed. A 4xx is a decision, and what it decided
 *   must stick: a replayed refresh token or code revokes its grant.
 * - 5xx (the database failed mid-request, or a bug): rolled back, so a 503
 *   means that nothing happened and the client may retry with the same
 *   refresh token or code.
 * - The commit itself fails: rolled back by the database; the answer the
 *   engine prepared (tokens, a redirect with a code, cookies) is replaced by
 *   503, because none of it is valid.
 */
export function unitOfWorkMiddleware(unitOfWork: () => UnitOfWork, renderError: RenderError) {
  return async function inUnitOfWork(ctx: KoaContextWithOIDC, next: Next): Promise<void> {
    const unit = unitOfWork();
    try {
      await unit.run(next);
    } catch (error) {
      await unit.rollback();
      throw error;
    }
    if (ctx.status >= 500) {
      await unit.rollback();
      return;
    }
    try {
      await unit.commit();
    } catch (error) {
      await answerUnavailable(ctx, error, renderError);
    }
  };
}

async function answerUnavailable(ctx: KoaContextWithOIDC, cause: unknown, renderError: RenderError): Promise<void> {
  // An outage, or a transaction PostgreSQL rolled back itself: either way nothing happened and a retry may succeed.
  const error = databaseUnavailable(cause);
  for (const header of ['location', 'set-cookie', 'cache-control']) ctx.remove(header);
  ctx.status = 503;
  ctx.set('retry-after', RETRY_AFTER_SECONDS);
  ctx.set('cache-control', 'no-store');
  const out = { error: error.error, error_description: error.error_description };
  if (ctx.accepts('json', 'html') === 'html') {
    await renderError(ctx, out, error);
  } else {
    ctx.body = out;
  }
}
