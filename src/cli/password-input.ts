import { MAX_SECRET_LENGTH } from '../accounts/password-hasher.ts';
import { CliError, UsageError } from '../errors/index.ts';
import type { CliIo } from './command-line.ts';

/**
 * Where a password comes from. Never argv: shell history and `ps` keep it.
 *
 *   --password-stdin ─▶ all of stdin, one trailing newline removed
 *   stdin is a TTY   ─▶ prompt twice on stderr, without echo
 *   otherwise        ─▶ usage error
 */
export async function readNewPassword(io: CliIo, { fromStdin, command }: { fromStdin: boolean; command: string }): Promise<string> {
  let password: string;
  if (fromStdin) {
    password = stripOneNewline(await readAll(io.stdin));
  } else if (io.stdin.isTTY && io.stdin.setRawMode) {
    password = await promptHidden(io, 'New password: ');
    const again = await promptHidden(io, 'Repeat password: ');
    if (again !== password) throw new CliError('the two passwords differ; nothing changed');
  } else {
    throw new UsageError(`${command.replace(/^latchkey /, '')}: no password given: pipe it to --password-stdin, or run in a terminal to be prompted`);
  }
  if (password.length === 0) throw new CliError('the password is empty; nothing changed');
  if (password.length > MAX_SECRET_LENGTH) throw new CliError(`the password is longer than ${MAX_SECRET_LENGTH} characters; nothing changed`);
  return password;
}

function stripOneNewline(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n')) return text.slice(0, -1);
  return text;
}

async function readAll(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    // Anything this long is not a password; stop reading rather than buffer it all.
    if (size > 64 * 1024) throw new CliError('stdin holds more than 64 KiB: not a password; nothing changed');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads one line from a TTY in raw mode, echoing nothing. Ctrl-C or Ctrl-D cancels. */
function promptHidden(io: CliIo, prompt: string): Promise<string> {
  const stdin = io.stdin;
  io.stderr.write(prompt);
  return new Promise<string>((resolve, reject) => {
    let typed = '';
    const finish = (error?: Error) => {
      stdin.removeListener('data', onData);
      stdin.setRawMode!(false);
      stdin.pause();
      io.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer | string) => {
      for (const char of String(chunk)) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003' || (char === '\u0004' && typed === '')) return finish(new CliError('cancelled; nothing changed'));
        if (char === '\u007f' || char === '\b') typed = [...typed].slice(0, -1).join('');
        else if (char >= ' ') typed += char;
      }
    };
    stdin.setRawMode!(true);
    stdin.setEncoding?.('utf8');
    stdin.on('data', onData);
    stdin.resume();
  });
}
