import { ConfigError } from '../errors/index.ts';

/**
 * One object of a Keycloak export, read field by field. A field of the
 * wrong type is an error that names it (`users[3].enabled: must be true or
 * false`); an absent one (or JSON null, as Jackson writes unset fields) is
 * undefined. The object remembers which fields were read, so whatever the
 * translation did not look at can be listed as not imported rather than
 * dropped without a word.
 */
export class KeycloakObject {
  /** Where it is in the file: `clients[2]`, `users[0].credentials[1]`; '' for the top. */
  readonly at: string;
  readonly source: string;
  readonly #value: Record<string, unknown>;
  readonly #read = new Set<string>();

  private constructor(value: Record<string, unknown>, at: string, source: string) {
    this.#value = value;
    this.at = at;
    this.source = source;
  }

  static of(value: unknown, at: string, source: string): KeycloakObject {
    if (!isPlainObject(value)) throw new ConfigError(at || '(document)', 'must be an object', source);
    return new KeycloakObject(value, at, source);
  }

  path(name: string): string {
    return this.at ? `${this.at}.${name}` : name;
  }

  fail(name: string, problem: string): never {
    throw new ConfigError(name ? this.path(name) : this.at || '(document)', problem, this.source);
  }

  /** The field as it is, marked as read. */
  raw(name: string): unknown {
    this.#read.add(name);
    const value = Object.hasOwn(this.#value, name) ? this.#value[name] : undefined;
    return value === null ? undefined : value;
  }

  string(name: string): string | undefined {
    const value = this.raw(name);
    if (value !== undefined && typeof value !== 'string') this.fail(name, 'must be a string');
    return value as string | undefined;
  }

  boolean(name: string): boolean | undefined {
    const value = this.raw(name);
    if (value !== undefined && typeof value !== 'boolean') this.fail(name, 'must be true or false');
    return value as boolean | undefined;
  }

  /** A whole number (Keycloak's lifespans are seconds as JSON numbers). */
  integer(name: string): number | undefined {
    const value = this.raw(name);
    if (value !== undefined && !Number.isSafeInteger(value)) this.fail(name, 'must be a whole number');
    return value as number | undefined;
  }

  strings(name: string): string[] | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) this.fail(name, 'must be a list of strings');
    value.forEach((item: unknown, i) => {
      if (typeof item !== 'string') this.fail(`${name}[${i}]`, 'must be a string');
    });
    return value as string[];
  }

  object(name: string): KeycloakObject | undefined {
    const value = this.raw(name);
    return value === undefined ? undefined : KeycloakObject.of(value, this.path(name), this.source);
  }

  objects(name: string): KeycloakObject[] {
    const value = this.raw(name);
    if (value === undefined) return [];
    if (!Array.isArray(value)) this.fail(name, 'must be a list');
    return value.map((item: unknown, i) => KeycloakObject.of(item, `${this.path(name)}[${i}]`, this.source));
  }

  /** An object whose values are lists of strings (`clientRoles`, user `attributes`). */
  stringLists(name: string): Map<string, string[]> {
    const object = this.object(name);
    const lists = new Map<string, string[]>();
    for (const key of object?.keys() ?? []) lists.set(key, object!.strings(key) ?? []);
    return lists;
  }

  /** Marks fields as deliberately left out (Keycloak's own bookkeeping, or read elsewhere): never listed as not imported. */
  ignore(...names: string[]): void {
    for (const name of names) this.#read.add(name);
  }

  keys(): string[] {
    return Object.keys(this.#value);
  }

  /**
   * Fields present that nothing read, with a value that says something
   * (Keycloak writes every unset setting out as false, 0, '' or empty).
   */
  unread(): string[] {
    return Object.entries(this.#value)
      .filter(([key, value]) => !this.#read.has(key) && meaningful(value))
      .map(([key]) => key);
  }
}

/** Says something: not null, false, 0, '', nor a list or object of only such values (`{"policies": []}`). */
export function meaningful(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.values(value).some(meaningful);
  return true;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What an import found worth saying, by topic: `add('identityProviders',
 * 'google')` twice and once with 'github' reads
 * `identityProviders: google ×2, github`. Long lists are cut.
 */
export class Findings {
  readonly #topics = new Map<string, Map<string, number>>();

  add(topic: string, detail = ''): void {
    let details = this.#topics.get(topic);
    if (!details) this.#topics.set(topic, details = new Map());
    details.set(detail, (details.get(detail) ?? 0) + 1);
  }

  lines(): string[] {
    return [...this.#topics].map(([topic, details]) => {
      const named = [...details].filter(([detail]) => detail !== '');
      if (named.length === 0) return topic;
      const shown = named.slice(0, MAX_DETAILS).map(([detail, count]) => (count > 1 ? `${detail} ×${count}` : detail));
      const more = named.length > MAX_DETAILS ? ` and ${named.length - MAX_DETAILS} more` : '';
      return `${topic}: ${shown.join(', ')}${more}`;
    });
  }
}

const MAX_DETAILS = 12;

/** A name from the file shown in a message: one line, short. */
export function shown(value: string): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = value.replace(/[\u0000-\u001f\u007f]/g, '?');
  return cleaned.length > 60 ? `${cleaned.slice(0, 60)}…` : cleaned;
}
