/**
 * Drives the login and consent pages with plain HTTP, like a browser without
 * JavaScript: a cookie jar, manual redirects, and form posts.
 */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  get(name: string): string | undefined {
    return this.#cookies.get(name);
  }

  set(name: string, value: string): void {
    this.#cookies.set(name, value);
  }

  names(): string[] {
    return [...this.#cookies.keys()];
  }
}

export class Browser {
  readonly jar = new CookieJar();
  readonly origin: string;

  /** `origin` may be an issuer with a path (a realm's): only its origin counts. */
  constructor(origin: string) {
    this.origin = new URL(origin).origin;
  }

  async request(url: string, init: RequestInit & { form?: Record<string, string> } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.jar.header();
    if (cookie) headers.set('cookie', cookie);
    let body = init.body;
    if (init.form) {
      headers.set('content-type', 'application/x-www-form-urlencoded');
      if (!headers.has('origin')) headers.set('origin', this.origin);
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(new URL(url, this.origin), { ...init, headers, ...(body === undefined ? {} : { body }), redirect: 'manual' });
    this.jar.store(response);
    return response;
  }

  /** Follows redirects on our own origin; stops at the first one that leaves it (the client's redirect_uri). */
  async follow(url: string, init: RequestInit & { form?: Record<string, string> } = {}): Promise<{ response: Response; url: string }> {
    let response = await this.request(url, init);
    let current = new URL(url, this.origin).toString();
    for (let hops = 0; hops < 10 && response.status >= 300 && response.status < 400; hops += 1) {
      const location = response.headers.get('location')!;
      const next = new URL(location, current);
      if (next.origin !== this.origin) return { response, url: next.toString() };
      current = next.toString();
      response = await this.request(current);
    }
    return { response, url: current };
  }

  /**
   * From an authorization URL to the client's callback URL: signs in with the
   * given credentials and consents (or denies) when asked.
   */
  async authorize(authorizationUrl: string, { login, password, consent = true }: { login: string; password: string; consent?: boolean }): Promise<URL> {
    let { response, url } = await this.follow(authorizationUrl);
    for (let step = 0; step < 4; step += 1) {
      if (!url.startsWith(this.origin)) return new URL(url);
      const page = await response.text();
      const uidPath = new URL(url).pathname;
      if (page.includes('name="password"')) {
        ({ response, url } = await this.follow(`${uidPath}/login`, { method: 'POST', form: { login, password } }));
      } else if (page.includes('/confirm"')) {
        ({ response, url } = await this.follow(`${uidPath}/${consent ? 'confirm' : 'abort'}`, { method: 'POST', form: {} }));
      } else {
        throw new Error(`unexpected page at ${url} (${response.status}): ${page.slice(0, 300)}`);
      }
    }
    throw new Error('authorization did not finish');
  }
}
