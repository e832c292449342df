import type { SetupProgress } from '../realms/realm-setup.ts';

/** Quiet for this long: an import that ends sooner shows no progress at all. */
const QUIET_MS = 2000;
const REDRAW_MS = 250;

/**
 * A progress line on a terminal (`importing realm acme: users 3000/10000`),
 * redrawn in place, for an import that takes more than a few seconds; none
 * when stderr is not a terminal (a pipe, a log file, a test). `done()`
 * clears it before the result is printed.
 */
export function terminalProgress(stderr: NodeJS.WritableStream, now: () => number = Date.now): { report: SetupProgress | undefined; done(): void } {
  if (!(stderr as { isTTY?: boolean }).isTTY) return { report: undefined, done() {} };
  const started = now();
  let drawn = 0;
  let shown = false;
  return {
    report({ realm, done, total }) {
      const at = now();
      if (at - started < QUIET_MS || (at - drawn < REDRAW_MS && done < total)) return;
      drawn = at;
      shown = true;
      stderr.write(`\r\x1b[Kimporting realm ${realm}: users ${done}/${total}`);
    },
    done() {
      if (shown) stderr.write('\r\x1b[K');
    },
  };
}
