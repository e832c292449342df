import net from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL that a test can break in the ways real
 * networks and servers break, without touching the shared server that other
 * test files are using:
 *
 * - cut(): every connection reset, new ones refused (a stopped database);
 * - blackhole(): connections stay open but nothing arrives in either
 *   direction, new ones hang (a partition);
 * - slow(ms): every chunk is delayed (a congested link);
 * - failAtStatement(n): the n-th statement sent from now on (counted across
 *   connections, in PostgreSQL's wire protocol) is never delivered and the
 *   proxy cuts at that moment: a fault injected exactly before that write.
 */
export class TcpProxy {
  readonly #target: { host: string; port: number };
  readonly #links = new Set<Link>();
  #server: net.Server | undefined;
  #mode: 'pass' | 'blackhole' = 'pass';
  #delayMs = 0;
  #failAt: { remaining: number; onFault: () => void } | undefined;
  /** Statements seen since the proxy started (Query and Sync messages). */
  statements = 0;
  port = 0;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  async start(port = 0): Promise<number> {
    const server = net.createServer((client) => this.#link(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.port = (server.address() as net.AddressInfo).port;
    return this.port;
  }

  #link(client: net.Socket): void {
    if (this.#mode === 'blackhole') {
      // Accepted by the kernel, never answered: a connect that hangs.
      const link: Link = { client, upstream: undefined, close: () => client.destroy() };
      this.#links.add(link);
      client.on('error', () => {});
      client.on('close', () => this.#links.delete(link));
      return;
    }
    const upstream = net.connect(this.#target);
    const link: Link = { client, upstream, close: () => { client.destroy(); upstream.destroy(); } };
    this.#links.add(link);
    for (const socket of [client, upstream]) {
      socket.on('error', () => link.close());
      socket.on('close', () => { link.close(); this.#links.delete(link); });
    }
    const messages = new MessageCounter((type) => this.#onMessage(type));
    client.on('data', (chunk: Buffer) => {
      const forward = messages.feed(chunk);
      if (forward === 'fault') return;
      this.#relay(upstream, chunk);
    });
    upstream.on('data', (chunk: Buffer) => this.#relay(client, chunk));
  }

  #relay(to: net.Socket, chunk: Buffer): void {
    if (this.#mode === 'blackhole') return;
    if (this.#delayMs > 0) setTimeout(() => { if (!to.destroyed) to.write(chunk); }, this.#delayMs);
    else if (!to.destroyed) to.write(chunk);
  }

  /** Returns false when the message must not be delivered (the armed fault). */
  #onMessage(type: string): boolean {
    if (type !== 'Q' && type !== 'S') return true;
    this.statements += 1;
    const armed = this.#failAt;
    if (!armed) return true;
    armed.remaining -= 1;
    if (armed.remaining > 0) return true;
    this.#failAt = undefined;
    void this.cut().then(armed.onFault);
    return false;
  }

  /** Resets every connection and refuses new ones (ECONNREFUSED), like a stopped database. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const link of this.#links) link.close();
    this.#links.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Silences every connection, open and new, until restore(): a network partition. */
  blackhole(): void {
    this.#mode = 'blackhole';
  }

  slow(delayMs: number): void {
    this.#delayMs = delayMs;
  }

  /** Arms a fault at the n-th statement from now (1 = the next one); `onFault` runs once it fired. */
  failAtStatement(n: number, onFault: () => void = () => {}): void {
    this.#failAt = { remaining: n, onFault };
  }

  disarm(): void {
    this.#failAt = undefined;
  }

  /** Back to a healthy network. Connections silenced by a blackhole are reset, as a real partition's would time out. */
  async restore(): Promise<void> {
    this.disarm();
    this.#delayMs = 0;
    if (this.#mode === 'blackhole') {
      this.#mode = 'pass';
      for (const link of this.#links) link.close();
      this.#links.clear();
    }
    if (!this.#server) await this.start(this.port);
  }

  async close(): Promise<void> {
    await this.cut();
  }
}

interface Link {
  client: net.Socket;
  upstream: net.Socket | undefined;
  close(): void;
}

/**
 * Splits a client's byte stream into PostgreSQL frontend messages: the first
 * (startup) message has no type byte, every later one is a type byte and a
 * 32-bit length that counts itself.
 */
class MessageCounter {
  #buffer = Buffer.alloc(0);
  #startup = true;
  readonly #onMessage: (type: string) => boolean;

  constructor(onMessage: (type: string) => boolean) {
    this.#onMessage = onMessage;
  }

  feed(chunk: Buffer): 'forward' | 'fault' {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      if (this.#startup) {
        if (this.#buffer.length < 4) return 'forward';
        const length = this.#buffer.readInt32BE(0);
        if (this.#buffer.length < length) return 'forward';
        this.#buffer = this.#buffer.subarray(length);
        this.#startup = false;
        continue;
      }
      if (this.#buffer.length < 5) return 'forward';
      const length = this.#buffer.readInt32BE(1);
      if (this.#buffer.length < length + 1) return 'forward';
      const type = String.fromCharCode(this.#buffer[0]!);
      this.#buffer = this.#buffer.subarray(length + 1);
      if (!this.#onMessage(type)) return 'fault';
    }
  }
}

export async function postgresReachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 5432) });
    socket.setTimeout(1000);
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
  });
}
