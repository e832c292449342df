import { STATUS_CODES } from 'node:http';
import type { FastifyReply } from 'fastify';
import {
  adminStatusOf, BearerTokenError, ClientDefinitionError, ConfigError, InitialAccessTokenError, InsufficientScopeError, InvalidRequestError, LatchkeyError,
  RETRY_AFTER_SECONDS, TooManyTokenAttemptsError,
} from '../errors/index.ts';

/**
 * Every admin API error as RFC 9457 problem details
 * (`application/problem+json`). The status comes from the one mapping of
 * errors (src/errors/error-mapping.ts adminStatusOf); `type` is
 * `about:blank`, so `title` is the status's phrase (RFC 9457 §4.2.1), and
 * what kind of problem it is, for a program, is the `code` extension (the
 * error's code: `client_exists`, `insufficient_scope`, …). `errors` lists
 * each refused field with what is wrong, in the words of the rules, never
 * the value. A bug is a 500 that says nothing more; an outage a 503 with
 * Retry-After.
 */
export interface Problem {
  type: 'about:blank';
  title: string;
  status: number;
  detail?: string;
  code?: string;
  errors?: { field: string; message: string }[];
}

/** RFC 6750 §3: the realm the challenge names. */
const CHALLENGE_REALM = 'latchkey-admin';

export interface ProblemAnswer {
  problem: Problem;
  headers: Record<string, string>;
}

/** What an error is answered with; `undefined` status from the mapping means a bug (500, logged by the caller). */
export function problemAnswer(error: unknown): ProblemAnswer {
  const status = adminStatusOf(error);
  if (status === undefined) return { problem: bare(500, 'the server failed to answer this request'), headers: {} };
  const headers: Record<string, string> = {};
  const problem = bare(status, status === 503 ? 'the server cannot reach its database or is busy; retry shortly' : (error as Error).message);
  if (error instanceof LatchkeyError && status !== 503) problem.code = error.code;
  if (error instanceof InvalidRequestError && error.problems.length) problem.errors = [...error.problems];
  // A setup file re-applied that no longer validates: the field, in the words the start would log.
  if (error instanceof ConfigError) problem.errors = [{ field: error.field, message: error.problem }];
  if (error instanceof ClientDefinitionError) problem.errors = (error.problems as { field: string; message: string }[]).map(({ field, message }) => ({ field, message }));
  if (error instanceof InitialAccessTokenError) problem.errors = [...error.problems];
  if (error instanceof BearerTokenError) {
    headers['www-authenticate'] = error.presented ? `Bearer realm="${CHALLENGE_REALM}", error="invalid_token"` : `Bearer realm="${CHALLENGE_REALM}"`;
  }
  if (error instanceof InsufficientScopeError) {
    headers['www-authenticate'] = `Bearer realm="${CHALLENGE_REALM}", error="insufficient_scope", scope="${error.scope}"`;
  }
  if (error instanceof TooManyTokenAttemptsError) headers['retry-after'] = String(error.retryAfter);
  if (status === 503) headers['retry-after'] = RETRY_AFTER_SECONDS;
  return { problem, headers };
}

/** A problem with no more than its status and a fixed sentence (framework refusals: their own messages stay out). */
export function bare(status: number, detail: string): Problem {
  return { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail };
}

export function sendProblem(reply: FastifyReply, { problem, headers }: ProblemAnswer): FastifyReply {
  return reply
    .code(problem.status)
    .headers(headers)
    .type('application/problem+json; charset=utf-8')
    // The serializer of a route's 2xx schema must not drop the problem's members: sent as text.
    .serializer(JSON.stringify)
    .send(problem);
}
