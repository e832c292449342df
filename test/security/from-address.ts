import http from 'node:http';
import { Browser } from '../helpers/browserless.ts';
import { basicAuthorization, type OAuthResponse, type RequestOptions } from '../helpers/token-requests.ts';

/**
 * Requests from a chosen loopback address, to show what a brake does to one
 * address and not to another without trusting X-Forwarded-For: Linux routes
 * all of 127.0.0.0/8 to the loopback interface, so a socket bound to
 * 127.0.0.7 reaches the server on 127.0.0.1 and the server sees 127.0.0.7.
 */
export const address = (n: number) => `127.0.0.${n}`;

/** fetch's Response, from a socket bound to `localAddress` (node:http; fetch cannot bind). */
export function fetchFrom(localAddress: string, url: string | URL, init: { method?: string; headers?: Headers; body?: string } = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const headers = Object.fromEntries(init.headers ?? []);
    const request = http.request(new URL(url), { method: init.method ?? 'GET', headers, localAddress, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const received = new Headers();
        for (let i = 0; i < response.rawHeaders.length; i += 2) received.append(response.rawHeaders[i]!, response.rawHeaders[i + 1]!);
        const status = response.statusCode!;
        const body = status === 204 || status === 304 ? null : Buffer.concat(chunks);
        resolve(new Response(body, { status, headers: received }));
      });
    });
    request.on('error', reject);
    request.end(init.body);
  });
}

/** token-requests.ts's postForm, from `localAddress`. */
export async function postFormFrom(localAddress: string, url: string, form: Record<string, string>, options: RequestOptions = {}): Promise<OAuthResponse> {
  const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...options.headers });
  const authorization = options.authorization ?? (options.basic && basicAuthorization(options.basic));
  if (authorization) headers.set('authorization', authorization);
  const response = await fetchFrom(localAddress, url, { method: 'POST', headers, body: new URLSearchParams(form).toString() });
  const text = await response.text();
  let json: Record<string, any> | undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { url, status: response.status, headers: response.headers, text, json };
}

/** The cookie-jar browser of test/helpers/browserless.ts, every request of it from `localAddress`. */
export class BrowserFrom extends Browser {
  readonly localAddress: string;

  constructor(origin: string, localAddress: string) {
    super(origin);
    this.localAddress = localAddress;
  }

  override async request(url: string, init: RequestInit & { form?: Record<string, string> } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.jar.header();
    if (cookie) headers.set('cookie', cookie);
    let body: string | undefined;
    if (init.form) {
      headers.set('content-type', 'application/x-www-form-urlencoded');
      if (!headers.has('origin')) headers.set('origin', this.origin);
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetchFrom(this.localAddress, new URL(url, this.origin), { method: init.method ?? 'GET', headers, ...(body ? { body } : {}) });
    this.jar.store(response);
    return response;
  }
}
