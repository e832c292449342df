import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { UsageError } from '../errors/index.ts';

/** What a command may touch of its process; tests can pass their own streams. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  /** Handed to the config module only: the CLI reads no variable itself. */
  env: Record<string, string | undefined>;
}

/** Exit status 0 = done, 1 = a runtime failure, 2 = a usage error. */
export type Command = (args: string[], io: CliIo) => Promise<number>;

export interface ParsedCommandLine<O extends ParseArgsOptionsConfig> {
  values: { [K in keyof O]?: O[K] extends { type: 'boolean' } ? boolean : O[K] extends { multiple: true } ? string[] : string };
  positionals: string[];
}

/**
 * Options that would put a secret on the command line, where shell history
 * and `ps` keep it. Refused by name, never echoed.
 */
const SECRET_OPTIONS = /^--?(password|passwd|pass|pw|secret|client-secret|client_secret)(=|$)/i;

/**
 * parseArgs with messages that name the option but never repeat a value
 * (a mistyped flag may be followed by a password).
 */
export function parseCommandLine<O extends ParseArgsOptionsConfig>(
  args: string[],
  options: O,
  { command, positionals: allowed }: { command: string; positionals: readonly string[] },
): ParsedCommandLine<O> {
  const secretOption = args.find((arg) => SECRET_OPTIONS.test(arg));
  if (secretOption) {
    const name = secretOption.split('=')[0]!;
    throw new UsageError(/secret/i.test(name)
      ? `${name}: secrets are not accepted on the command line (shell history and ps would keep them); clients add generates one`
      : `${name}: passwords are not accepted on the command line (shell history and ps would keep them); use --password-stdin or the prompt`);
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    const option = /'(-[^' ]*)/.exec(message)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option ${option} (see ${command} --help)`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new UsageError(message.includes('does not take')
        ? `${option} takes no value (see ${command} --help)`
        : `${option} needs a value (see ${command} --help)`);
    }
    throw new UsageError(`${label(command)}: cannot read the command line`);
  }
  if (parsed.positionals.length > allowed.length) {
    throw new UsageError(`${label(command)}: unexpected extra argument #${allowed.length + 1} (see ${command} --help)`);
  }
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value === '' || (Array.isArray(value) && value.includes(''))) throw new UsageError(`--${name} needs a non-empty value`);
  }
  return parsed as unknown as ParsedCommandLine<O>;
}

/** The positional at `index`, or a usage error naming it. */
export function requirePositional(parsed: { positionals: string[] }, index: number, name: string, command: string): string {
  const value = parsed.positionals[index];
  if (value === undefined || value === '') throw new UsageError(`${label(command)}: missing ${name} (see ${command} --help)`);
  return value;
}

/** `latchkey users add` → `users add`: messages are already prefixed with `latchkey: `. */
function label(command: string): string {
  return command.replace(/^latchkey /, '');
}

export function isHelp(args: readonly string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

export function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Subcommand dispatch shared by the command groups (`clients add`, `users list`, …). */
export async function dispatch(
  group: string,
  usage: string,
  subcommands: Record<string, { run: Command; usage: string }>,
  args: string[],
  io: CliIo,
  defaultSubcommand?: string,
): Promise<number> {
  const [first, ...rest] = args;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    if (first === undefined && defaultSubcommand) return subcommands[defaultSubcommand]!.run([], io);
    if (first === undefined) throw new UsageError(`${group}: missing subcommand (see latchkey ${group} --help)`);
    write(io.stdout, usage);
    return 0;
  }
  const subcommand = Object.hasOwn(subcommands, first) ? subcommands[first] : undefined;
  if (!subcommand) {
    if (first.startsWith('-') && defaultSubcommand) return subcommands[defaultSubcommand]!.run(args, io);
    throw new UsageError(`${group}: unknown subcommand "${printable(first)}" (see latchkey ${group} --help)`);
  }
  if (isHelp(rest)) {
    write(io.stdout, subcommand.usage);
    return 0;
  }
  return subcommand.run(rest, io);
}

/** A user-supplied word shown in a message: short, one line, no control characters. */
export function printable(value: string): string {
  const cleaned = [...value].map((char) => (isControl(char) ? '?' : char)).join('');
  return cleaned.length > 40 ? `${cleaned.slice(0, 40)}…` : cleaned;
}

export function hasControlCharacters(value: string): boolean {
  return [...value].some(isControl);
}

function isControl(char: string): boolean {
  const code = char.codePointAt(0)!;
  return code < 0x20 || code === 0x7f;
}
