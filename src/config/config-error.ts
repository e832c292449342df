/**
 * A configuration problem, reported as one line naming the source and the
 * field. Messages never quote a value that could be secret (passwords,
 * client secrets, database URLs); they name the field instead.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly field: string;

  constructor(field: string, problem: string, source?: string) {
    super(`${source ? `${source}: ` : ''}${field}: ${problem}`);
    this.field = field;
  }
}
