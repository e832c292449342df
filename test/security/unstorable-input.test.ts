import t from 'tap';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { SECRETS } from '../helpers/setups.ts';

// Case 93: NUL and invalid UTF-8 in parameters get a 400, never a 500
// (PostgreSQL cannot store NUL; validate before the query).
const { issuer } = await startLatchkey(t);
const auth = (extra: string) => fetch(`${issuer}/auth?client_id=web1&response_type=code&scope=openid&redirect_uri=${encodeURIComponent('https://app.test/cb')}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256&${extra}`, { redirect: 'manual' });

t.test('NUL in state or nonce → invalid_request to the client, not a 500', async (t) => {
  for (const extra of ['state=a%00b', 'state=s&nonce=%00']) {
    const res = await auth(extra);
    t.equal(res.status, 303, extra);
    const location = new URL(res.headers.get('location')!);
    t.equal(location.searchParams.get('error'), 'invalid_request', extra);
  }
});

t.test('invalid UTF-8 in state is accepted as replacement characters or refused, never a 500', async (t) => {
  const res = await auth('state=%C3%28');
  t.ok(res.status < 500, `status ${res.status}`);
});

t.test('NUL in client_id, redirect_uri or code gives a 4xx', async (t) => {
  const page = await fetch(`${issuer}/auth?client_id=web%001&response_type=code&scope=openid`, { redirect: 'manual' });
  t.equal(page.status, 400);
  const redirect = await fetch(`${issuer}/auth?client_id=web1&response_type=code&scope=openid&redirect_uri=https://app.test/cb%00`, { redirect: 'manual' });
  t.equal(redirect.status, 400);
  t.equal(redirect.headers.get('location'), null);
  const token = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`web1:${SECRETS.web1}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=authorization_code&code=ab%00cd&redirect_uri=https://app.test/cb&code_verifier=' + 'a'.repeat(43),
  });
  t.equal(token.status, 400);
  t.equal((await token.json() as { error: string }).error, 'invalid_grant');
  const basicNul = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`svc%00:${SECRETS.svc}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  t.ok(basicNul.status === 400 || basicNul.status === 401, `status ${basicNul.status}`);
});
