import { ConfigError } from '../errors/index.ts';

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string of a parsed
 * document with the environment's values; `$${` stands for a literal `${`.
 * Substitution happens after parsing, so a value can never change the
 * document's structure (no YAML injection through the environment).
 */
export function substitutePlaceholders(document: unknown, env: Readonly<Record<string, string | undefined>>, source: string): unknown {
  const walk = (value: unknown, path: string): unknown => {
    if (typeof value === 'string') return substitute(value, env, path, source);
    if (Array.isArray(value)) return value.map((item, index) => walk(item, `${path}[${index}]`));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, walk(item, path ? `${path}.${key}` : key)]));
    }
    return value;
  };
  return walk(document, '');
}

const PLACEHOLDER = /\$\$\{|\$\{([^}]*)\}/g;
const NAME = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

function substitute(text: string, env: Readonly<Record<string, string | undefined>>, path: string, source: string): string {
  if (!text.includes('${')) return text;
  return text.replace(PLACEHOLDER, (match, inner: string | undefined) => {
    if (match === '$${') return '${';
    const parsed = NAME.exec(inner ?? '');
    if (!parsed) throw new ConfigError(path || '(document)', 'a placeholder must look like ${NAME} or ${NAME:-default}', source);
    const [, name, fallback] = parsed;
    const value = env[name!];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    throw new ConfigError(path || '(document)', `environment variable ${name} is not set`, source);
  });
}
