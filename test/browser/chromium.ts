import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Test } from 'tap';

/**
 * Debian's Chromium driven by playwright-core (no browser download). The
 * flags keep it from reaching for the network, which is closed here.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

export function chromiumMissing(): string | false {
  return existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install -y chromium)`;
}

export async function launchChromium(t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  t.teardown(() => browser.close());
  return browser;
}

export interface Watched {
  page: Page;
  context: BrowserContext;
  /** alert/confirm/prompt dialogs: none may fire. */
  dialogs: string[];
  /** Console messages about the Content Security Policy. */
  cspViolations: string[];
  pageErrors: string[];
}

/** A fresh context and page that record dialogs, CSP violations and script errors. */
export async function watchedPage(browser: Browser, { viewport = { width: 1280, height: 800 } } = {}): Promise<Watched> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const watched: Watched = { page, context, dialogs: [], cspViolations: [], pageErrors: [] };
  page.on('dialog', (dialog) => { watched.dialogs.push(dialog.message()); void dialog.dismiss(); });
  page.on('console', (message) => { if (/Content Security Policy/i.test(message.text())) watched.cspViolations.push(message.text()); });
  page.on('pageerror', (error) => watched.pageErrors.push(error.message));
  return watched;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Small SVG images served for the made-up https://cdn.*.test hosts (the network is closed). */
export async function serveTestImages(context: BrowserContext): Promise<void> {
  await context.route(/^https:\/\/cdn\.[a-z]+\.test\//, (route) => {
    const url = route.request().url();
    const color = url.includes('acme') ? '#d9480f' : '#2b8a3e';
    const body = url.includes('background')
      ? `<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="1000"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${color}"/><stop offset="1" stop-color="#1b1f24"/></linearGradient></defs><rect width="1600" height="1000" fill="url(#g)"/></svg>`
      : `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="48"><rect width="48" height="48" rx="10" fill="${color}"/><text x="58" y="32" font-family="sans-serif" font-size="22" font-weight="700" fill="${color}">${url.includes('acme') ? 'ACME' : 'Globex'}</text></svg>`;
    return route.fulfill({ status: 200, contentType: 'image/svg+xml', body });
  });
}
