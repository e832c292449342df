import t from 'tap';
import { ADMIN_ROUTES } from '../../src/admin/admin-routes.ts';
import { startAdmin } from '../admin/admin-setup.ts';
import { chromiumMissing, launchChromium, screenshot, watchedPage } from './chromium.ts';

// The admin API's reference page (src/admin/reference-page.ts) in a real
// browser: served without a token and with no data, it loads /openapi.json
// with the token pasted into it and renders every operation, under a policy
// that allows nothing but its own script and style.

// These run inside the page (Playwright's evaluate), where the DOM exists;
// the project's TypeScript has no DOM library, so they are declared here.
declare const localStorage: { length: number };
declare const sessionStorage: { length: number };
declare const location: { href: string };

const missing = chromiumMissing();
if (missing) {
  t.plan(0, missing);
} else {
  await run();
}

async function run(): Promise<void> {
  const admin = await startAdmin(t);
  const browser = await launchChromium(t);

  t.test('served without a token, with its own strict policy', async (t) => {
    const answer = await fetch(`${admin.adminOrigin}/reference`);
    t.equal(answer.status, 200);
    t.match(answer.headers.get('content-type'), /^text\/html/);
    const csp = answer.headers.get('content-security-policy') ?? '';
    t.match(csp, /default-src 'none'/);
    t.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/, 'one script, by its hash');
    t.match(csp, /connect-src 'self'/);
    t.notMatch(csp, /unsafe-inline|unsafe-eval|https?:/, 'nothing inline but by hash, nothing from elsewhere');
    t.notMatch(await answer.text(), /<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org)/, 'no external script, style or URL');
  });

  t.test('a pasted token renders every operation; the token is kept nowhere but in memory', async (t) => {
    const watched = await watchedPage(browser);
    const { page } = watched;
    await page.goto(`${admin.adminOrigin}/reference`);
    await page.fill('#token', admin.tokens.readOnly);
    await page.click('#load');
    await page.waitForSelector('details.operation');
    const operations = await page.locator('details.operation').count();
    t.equal(operations, ADMIN_ROUTES.length, `the ${ADMIN_ROUTES.length} operations of the route table`);
    t.match(await page.locator('#status').textContent(), `${ADMIN_ROUTES.length} operations`);
    const rotate = page.locator('details.operation', { hasText: '/v1/keys/rotations' });
    t.match(await rotate.locator('summary').textContent(), /POST.*\/v1\/keys\/rotations.*Stage the replacement of signing keys.*admin:write/);
    await rotate.locator('summary').click();
    t.match(await rotate.textContent(), /delay_seconds/, 'opened, it shows the request body\'s schema');
    const clientRead = page.locator('details.operation', { hasText: '/v1/realms/{realm}/clients/{clientId}' }).first();
    await clientRead.locator('summary').click();
    t.match(await clientRead.locator('table').first().textContent(), /realm.*path.*yes/s, 'and the parameters');

    t.equal(await page.inputValue('#token'), '', 'the field is emptied once the token is read');
    t.same(await page.evaluate(() => [localStorage.length, sessionStorage.length]), [0, 0], 'no web storage');
    t.same(await watched.context.cookies(), [], 'no cookie');
    t.notOk((await page.evaluate(() => location.href)).includes(admin.tokens.readOnly), 'not in the URL');
    t.same(watched.cspViolations, [], 'no CSP violation');
    t.same(watched.pageErrors, [], 'no script error');
    t.same(watched.dialogs, []);
    await screenshot(page, 'admin-reference');
    await watched.context.close();
  });

  t.test('a wrong token: the refusal is shown, nothing rendered', async (t) => {
    const watched = await watchedPage(browser);
    const { page } = watched;
    await page.goto(`${admin.adminOrigin}/reference`);
    await page.fill('#token', 'not-a-token');
    await page.press('#token', 'Enter');
    await page.waitForFunction(() => !/Loading|^$/.test((globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } }).document.getElementById('status').textContent));
    t.match(await page.locator('#status').textContent(), /^401: /);
    t.equal(await page.locator('details.operation').count(), 0);
    t.same(watched.cspViolations, []);
    t.same(watched.pageErrors, []);
    await watched.context.close();
  });
}
