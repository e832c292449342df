import { loadConfig } from './config/index.ts';
import { assembleLatchkey } from './latchkey.ts';
import { createLogger } from './log/logger.ts';

/**
 * The composition root for `npm start` / `latchkey serve`: the only place that
 * listens, handles signals and exits the process.
 */
export async function serve(env?: Record<string, string | undefined>): Promise<void> {
  let config;
  try {
    config = await loadConfig(env ? { env } : {});
  } catch (error) {
    process.stderr.write(`latchkey: ${(error as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);

  let latchkey;
  try {
    latchkey = await assembleLatchkey(config, logger);
    await latchkey.app.listen({ port: config.port, host: config.host });
    // The admin API on its own listener, loopback by default (src/admin/build-admin-app.ts).
    if (latchkey.adminApp && config.admin) await latchkey.adminApp.listen({ port: config.admin.port, host: config.admin.host });
  } catch (error) {
    // One line naming the cause (for people, on stderr; and in the log); no stack trace, no secrets.
    const message = (error as Error).message;
    process.stderr.write(`latchkey: could not start: ${message.split('\n')[0]}\n`);
    logger.fatal({ err: { name: (error as Error).name, message } }, 'latchkey could not start');
    await latchkey?.close().catch(() => {});
    process.exit(1);
  }

  // The default realm first; its layout decides where its endpoints are (src/oidc/realm-layouts.ts).
  const realms = latchkey.realms.map((realm) => realm.settings);
  const primary = realms.find((realm) => realm.name === 'default') ?? realms[0]!;
  const discovery = `${primary.issuer}/.well-known/openid-configuration`;
  const admin = config.admin ? `http://${config.admin.host.includes(':') ? `[${config.admin.host}]` : config.admin.host}:${config.admin.port}` : undefined;
  logger.info({ issuers: realms.map((realm) => realm.issuer), discovery, admin: admin ?? 'off', database: latchkey.services.database.kind }, 'latchkey is ready');
  if (config.nodeEnv !== 'production') {
    const others = realms.filter((realm) => realm !== primary);
    process.stdout.write([
      '',
      `  Latchkey is running (${latchkey.services.database.kind === 'pglite' ? `embedded database in ${config.dataDir}` : 'PostgreSQL'})`,
      `  issuer     ${primary.issuer}`,
      `  discovery  ${discovery}`,
      ...others.map((realm) => `  realm      ${realm.name}: ${realm.issuer} (${realm.layout.kind} layout)`),
      `  admin API  ${admin ? `${admin}/openapi.json (README "Administration")` : 'off (LATCHKEY_ADMIN_PORT=off)'}`,
      `  try        curl -s -u demo-service:demo-service-secret -d grant_type=client_credentials -d scope=api:read ${primary.issuer}${primary.layout.routes.token ?? '/token'}`,
      '  README.md walks through the browser login, refresh, introspection, revocation and logout.',
      '',
    ].join('\n') + '\n');
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await latchkey.close().catch((error) => logger.error({ err: error }, 'error while shutting down'));
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await serve();
}
