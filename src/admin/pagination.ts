import { Type } from '@sinclair/typebox';
import { InvalidRequestError } from '../errors/index.ts';

/**
 * Cursor pagination for the admin lists. A list is read in its key order
 * (client_id, username) and a page ends with a cursor naming its last key;
 * the next page starts after it (keyset pagination: no row is skipped or
 * shown twice when rows are added or removed between pages, and a deep page
 * costs what the first does). The cursor is opaque to callers: a version
 * and the key, base64url-encoded, so that its form can change.
 */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;
const VERSION = 'k1.';
const MAX_CURSOR_LENGTH = 1024;

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, description: `items per page (default ${DEFAULT_PAGE_SIZE})` })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_CURSOR_LENGTH, description: 'next_cursor of the previous page' })),
});

export function encodeCursor(lastKey: string): string {
  return VERSION + Buffer.from(lastKey, 'utf8').toString('base64url');
}

/** The key a cursor names. @throws InvalidRequestError for anything this API did not hand out */
export function decodeCursor(cursor: string): string {
  const encoded = cursor.slice(VERSION.length);
  const key = Buffer.from(encoded, 'base64url').toString('utf8');
  if (!cursor.startsWith(VERSION) || !encoded || encodeCursor(key) !== cursor) {
    throw new InvalidRequestError('cursor: not a cursor this API handed out', [{ field: 'cursor', message: 'not a cursor this API handed out' }]);
  }
  return key;
}

/**
 * One page of `read`, which returns up to `limit` rows in key order after
 * a key: one row more is read than shown, to know whether a next page exists.
 */
export async function readPage<T>(
  { limit = DEFAULT_PAGE_SIZE, cursor }: { limit?: number | undefined; cursor?: string | undefined },
  read: (range: { after: string | undefined; limit: number }) => Promise<T[]>,
  keyOf: (row: T) => string,
): Promise<{ items: T[]; next_cursor: string | null }> {
  const rows = await read({ after: cursor === undefined ? undefined : decodeCursor(cursor), limit: limit + 1 });
  const items = rows.slice(0, limit);
  return { items, next_cursor: rows.length > limit ? encodeCursor(keyOf(items[items.length - 1]!)) : null };
}
