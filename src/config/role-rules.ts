/**
 * Names of roles and groups (users' and clients'), released as the `roles`
 * and `groups` claims (RFC 9068 §7.2.1). One rule for the setup file, the
 * CLI and the services, so that all refuse the same names with the same
 * words. Names may hold spaces ("Order Desk", as Okta groups do) but no
 * control characters, and are compared exactly.
 */
export const MAX_ROLE_NAME_LENGTH = 200;
export const MAX_ROLES = 200;

/** What is wrong with a list of role or group names, or undefined when nothing is; `at` names the field. */
export function roleListProblem(value: unknown, at: string): { field: string; message: string } | undefined {
  if (!Array.isArray(value)) return { field: at, message: 'must be a list of names' };
  if (value.length > MAX_ROLES) return { field: at, message: `at most ${MAX_ROLES} names` };
  const seen = new Set<string>();
  for (const [i, name] of value.entries()) {
    const field = `${at}[${i}]`;
    if (typeof name !== 'string' || name.trim() === '') return { field, message: 'must be a non-empty name' };
    if (name.length > MAX_ROLE_NAME_LENGTH) return { field, message: `at most ${MAX_ROLE_NAME_LENGTH} characters` };
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(name)) return { field, message: 'must not contain control characters' };
    if (name !== name.trim()) return { field, message: 'must not start or end with spaces' };
    if (seen.has(name)) return { field, message: 'listed twice' };
    seen.add(name);
  }
  return undefined;
}
