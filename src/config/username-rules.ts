/**
 * What a username may be: one rule for the setup file, the CLI and the
 * account service (and through it the admin API). A username is typed at
 * the sign-in page and shown in tokens (`preferred_username`), so it is
 * one word of printable characters.
 */
export const MAX_USERNAME_LENGTH = 256;

/** What is wrong with a username, in words that never quote it; undefined when nothing is. */
export function usernameProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_USERNAME_LENGTH || /\s/u.test(value)
    // C0, DEL and C1 controls (what a terminal or a log would act upon).
    // eslint-disable-next-line no-control-regex
    || /[\u0000-\u001f\u007f-\u009f]/.test(value)) {
    return `at most ${MAX_USERNAME_LENGTH} characters, no spaces or control characters`;
  }
  return undefined;
}
