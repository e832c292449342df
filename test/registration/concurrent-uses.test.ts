import t from 'tap';
import { startRegistration, WEB_CLIENT } from './registration-setup.ts';

// A counted initial access token used by many registrations at once
// registers no more clients than its count: its uses are spent by a claim
// that holds the token's row until the registration commits. The race is
// real on PostgreSQL (run with DATABASE_URL); PGlite serialises statements.
const server = await startRegistration(t);
const clients = () => server.latchkey.services.clients.list('acme');

for (const [uses, concurrent] of [[3, 12], [1, 8], [10, 16]] as const) {
  t.test(`${concurrent} registrations at once with a token good for ${uses}`, async (t) => {
    const before = (await clients()).length;
    const { id, token } = await server.issueToken('acme', { uses });
    const answers = await Promise.all(Array.from({ length: concurrent }, () => server.register('acme', WEB_CLIENT, token)));
    const statuses = answers.map((answer) => answer.status);
    t.equal(statuses.filter((status) => status === 201).length, uses, `exactly ${uses} registered`);
    t.equal(statuses.filter((status) => status === 401).length, concurrent - uses, 'the others are refused with invalid_token');
    t.equal((await clients()).length, before + uses, 'and exactly that many clients exist');
    const ids = new Set(answers.filter((answer) => answer.status === 201).map((answer) => answer.json.client_id));
    t.equal(ids.size, uses, 'each a client of its own');
    const listed = await server.call('GET', '/v1/realms/acme/initial-access-tokens', { token: server.tokens.readOnly });
    t.match(listed.json.items.find((item: { id: string }) => item.id === id), { uses_left: 0 });
  });
}
