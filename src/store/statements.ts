/**
 * The hot path's SQL (token lookups, writes and consumption) as fixed
 * statements with stable names. On a PostgreSQL server they run as named
 * prepared statements, parsed and planned once per connection; on PGlite as
 * plain parameterised queries. Both paths see the same rows, types and errors.
 *
 * Each statement says what it does to the data (src/store/unit-of-work.ts):
 * inside a request's unit of work, writes wait for the commit and claims
 * open the transaction. They run through `Db#run` (src/store/database.ts).
 */
/** What a statement does to the data; see src/store/unit-of-work.ts for what each means inside a request. */
export type StatementEffect = 'read' | 'write' | 'claim';

export interface Statement {
  readonly name: string;
  readonly text: string;
  /** Default `read`. */
  readonly effect?: StatementEffect;
}

export interface StatementResult<R> {
  rows: R[];
  /** Rows written by INSERT/UPDATE/DELETE. */
  rowCount: number;
}
