import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditDraft, AuditEvent, AuditSink } from './audit-event.ts';

export interface AuditTrailOptions {
  /**
   * Writes one batch (one INSERT), outside any request's unit of work;
   * `later` when the database is busy. The batch is a JSON array of rows as
   * the table names its columns (`subject` for the API's `user`).
   */
  write: (rows: string) => Promise<'written' | 'later'>;
  logger: Logger;
  /** Events per INSERT. */
  batchSize?: number;
  /** How long an event may wait in memory for others to share its INSERT. */
  flushDelayMs?: number;
  /** Events kept while the database is out; past it the oldest are dropped (and counted). */
  maxBuffered?: number;
  /** Longest wait between attempts while the database is out. */
  maxRetryDelayMs?: number;
  now?: () => Date;
}

/**
 * Audit events on their way to the log and the table. Recording is a push
 * into memory and a log line: the request the event describes never waits
 * for the database, never fails because of it, and its unit of work (which
 * a failure event must outlive when it rolls back) is not joined; a timer
 * writes what was recorded in batches.
 *
 *   record ─▶ log line + buffer ─(flushDelayMs, or a full batch)─▶ INSERT
 *     INSERT fails ─▶ kept, retried with backoff (up to maxRetryDelayMs)
 *     buffer over maxBuffered ─▶ oldest dropped, counted, warned
 *   close ─▶ one last attempt; what cannot be written is counted and warned
 *
 * Per process: a crash loses at most what waits in the buffer (the log line
 * of each event is already written, at its level).
 *
 * The buffer holds each event as its row's JSON text, made once when it is
 * recorded: an event waits up to flushDelayMs, long enough to outlive the
 * young generation's collections under load, and one flat string is far
 * less for the old generation to hold and trace than an object graph.
 */
export class AuditTrail implements AuditSink {
  readonly #write: AuditTrailOptions['write'];
  readonly #logger: Logger;
  readonly #batchSize: number;
  readonly #flushDelayMs: number;
  readonly #maxBuffered: number;
  readonly #maxRetryDelayMs: number;
  readonly #now: () => Date;
  /** Rows as JSON text, oldest first; `#first` is the sequence number of `#buffer[0]`. */
  #buffer: string[] = [];
  #first = 0;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #failures = 0;
  #dropped = 0;
  #droppedWarned = 0;
  #closed = false;
  #deferred = false;

  constructor(options: AuditTrailOptions) {
    this.#write = options.write;
    this.#logger = options.logger;
    this.#batchSize = options.batchSize ?? 500;
    this.#flushDelayMs = options.flushDelayMs ?? 200;
    this.#maxBuffered = options.maxBuffered ?? 50_000;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.#now = options.now ?? (() => new Date());
  }

  record(draft: AuditDraft): void {
    const event: AuditEvent = {
      id: randomUUID(),
      occurred_at: this.#now(),
      realm: draft.realm,
      type: draft.type,
      outcome: draft.outcome,
      actor: draft.actor ?? null,
      client_id: draft.clientId ?? null,
      user: draft.user ?? null,
      address: draft.address ?? null,
      request_id: draft.requestId ?? null,
      details: draft.details ?? {},
    };
    const level = logLevelOf(event);
    if (this.#logger.isLevelEnabled(level)) this.#logger[level]({ audit: event }, 'audit event');
    this.#buffer.push(rowJson(event));
    if (this.#buffer.length > this.#maxBuffered) this.#drop(this.#buffer.length - this.#maxBuffered);
    if (this.#closed) return;
    if (this.#failures === 0 && this.#buffer.length >= this.#batchSize) this.#schedule(0);
    else this.#schedule(this.#flushDelayMs);
  }

  /** Events waiting to be written (for tests and the log). */
  get pending(): number {
    return this.#buffer.length;
  }

  /** Writes what is buffered now; resolves when it is written or the attempt failed. */
  flush(): Promise<void> {
    this.#flushing ??= this.#flushAll().finally(() => {
      this.#flushing = undefined;
      // What arrived meanwhile, or what the database refused: another attempt, later when it failed.
      if (this.#buffer.length && !this.#closed) this.#schedule(this.#failures ? this.#retryDelay() : this.#deferred ? this.#flushDelayMs : 0);
    });
    return this.#flushing;
  }

  /** The last attempt at shutdown (after the listeners closed, before the database does). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#flushing;
    await this.flush();
    if (this.#buffer.length) this.#drop(this.#buffer.length);
    this.#warnDropped();
  }

  #schedule(delayMs: number): void {
    if (this.#timer || this.#flushing) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, delayMs);
    this.#timer.unref();
  }

  async #flushAll(): Promise<void> {
    this.#warnDropped();
    while (this.#buffer.length) {
      const batch = this.#buffer.slice(0, this.#batchSize);
      const end = this.#first + batch.length;
      try {
        this.#deferred = (await this.#write(`[${batch.join(',')}]`)) === 'later';
        if (this.#deferred) return;
      } catch (error) {
        this.#failures += 1;
        if (this.#failures === 1) {
          this.#logger.warn({ err: { message: (error as Error).message }, pending: this.#buffer.length }, 'audit events could not be written; keeping them and retrying');
        }
        return;
      }
      // Events recorded meanwhile were appended; the ones written are the first of the buffer, unless dropped since.
      const written = end - this.#first;
      if (written > 0) {
        this.#buffer.splice(0, written);
        this.#first += written;
      }
      if (this.#failures) {
        this.#logger.info({ attempts: this.#failures }, 'audit events are written again');
        this.#failures = 0;
      }
    }
  }

  /** The oldest `count` events, counted as dropped. */
  #drop(count: number): void {
    this.#buffer.splice(0, count);
    this.#first += count;
    this.#dropped += count;
  }

  #retryDelay(): number {
    return Math.min(this.#maxRetryDelayMs, this.#flushDelayMs * 2 ** Math.min(this.#failures, 16));
  }

  #warnDropped(): void {
    if (this.#dropped === this.#droppedWarned) return;
    this.#logger.warn({ dropped: this.#dropped - this.#droppedWarned, droppedTotal: this.#dropped }, 'audit events dropped: the database was out and the buffer full');
    this.#droppedWarned = this.#dropped;
  }
}

/**
 * The level of an event's log line. As Keycloak's logging event listener
 * does: successes at debug (a token issued is thousands of lines a second
 * under load, and the table keeps every one), failures at warn; changes to
 * the server itself (admin writes, key rotations) are rare and wanted in
 * the log at the default level.
 */
export function logLevelOf(event: Pick<AuditEvent, 'type' | 'outcome'>): 'debug' | 'info' | 'warn' {
  if (event.outcome === 'failure') return 'warn';
  return event.type.startsWith('admin.') || event.type === 'keys.rotated' ? 'info' : 'debug';
}

/** JSON.stringify writes NUL as \u0000 and a lone surrogate as \udXXX. */
const UNSTORABLE_JSON = /\\u0000|\\ud[89a-f][0-9a-f]{2}/i;

/**
 * The event as its row's JSON text, written out field by field (JSON.stringify
 * of the whole event, its Date and a copy renaming `user`, was the largest
 * part of recording one). What a client typed may hold a NUL or a lone
 * surrogate, which PostgreSQL's text and jsonb refuse: one such event would
 * fail its batch at every retry and hold up the trail behind it, so those
 * are stored as U+FFFD.
 */
function rowJson(event: AuditEvent): string {
  const json = `{"id":"${event.id}","occurred_at":"${event.occurred_at.toISOString()}","realm":${text(event.realm)},"type":${text(event.type)},`
    + `"outcome":"${event.outcome}","actor":${text(event.actor)},"client_id":${text(event.client_id)},"subject":${text(event.user)},`
    + `"address":${text(event.address)},"request_id":${text(event.request_id)},"details":${JSON.stringify(event.details)}}`;
  if (!UNSTORABLE_JSON.test(json)) return json;
  const { user, ...rest } = event;
  return JSON.stringify({ ...rest, subject: user }, (_key, value: unknown) => (typeof value === 'string' ? value.toWellFormed().replaceAll('\0', '\ufffd') : value));
}

function text(value: string | null): string {
  return value === null ? 'null' : JSON.stringify(value);
}
