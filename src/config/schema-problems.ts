import type { ValueError } from '@sinclair/typebox/value';

/**
 * A TypeBox schema violation in words: where (a field path as the rules
 * write it) and what, never the value. The setup file's problems and the
 * admin API's invalid requests (src/admin/) are told in the same words.
 */

/** `/realms/0/clients/1/redirect_uris/0` → `realms[0].clients[1].redirect_uris[0]` */
export function fieldPath(pointer: string): string {
  if (!pointer) return '(document)';
  return pointer.split('/').slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

export function describeSchemaError(error: ValueError): string {
  const schema = error.schema as { anyOf?: { const?: unknown }[]; pattern?: string; const?: unknown };
  const literals = schema.anyOf?.map((s) => s.const).filter((v) => v !== undefined);
  if (literals?.length) return `must be one of ${literals.join(', ')}`;
  if (schema.const !== undefined) return `must be ${String(schema.const)}`;
  if (error.message === 'Unexpected property') return 'unknown property (check the spelling)';
  if (error.message === 'Expected required property') return 'is required';
  if (schema.pattern === '^[a-z0-9][a-z0-9-]{0,62}$') return 'lower-case letters, digits and dashes, at most 63';
  if (schema.pattern === '^#[0-9a-fA-F]{6}$') return 'must be a colour like #1a73e8';
  if (schema.pattern) return 'has the wrong format';
  return error.message.charAt(0).toLowerCase() + error.message.slice(1);
}
