import type { Static, TObject, TSchema } from '@sinclair/typebox';
import type { AccountService } from '../accounts/account-service.ts';
import type { ReadAuditEvents } from '../audit/audit-events.ts';
import type { ClientService } from '../clients/client-service.ts';
import type { InitialAccessTokens } from '../registration/initial-access-tokens.ts';
import { RealmNotFoundError } from '../errors/index.ts';
import type { IssuedAdministration } from '../tokens/issued-administration.ts';
import type { KeyAdministration } from '../keys/key-administration.ts';
import type { RealmConfigurations } from '../realms/realm-configuration.ts';
import type { SetupApplication } from '../realms/setup-application.ts';
import type { AdminPrincipal, AdminScope } from './admin-authentication.ts';

/**
 * One admin API route, as the route table (src/admin/admin-routes.ts) holds
 * it: everything the app registers (method, path, schemas, handler), the
 * scope the authorization checks, and what the OpenAPI document says of it.
 * Routes exist only through the table, so the document and the
 * authorization matrix test cover every one of them.
 */
export interface RouteSchemas {
  params?: TObject;
  querystring?: TObject;
  body?: TSchema;
  /** A schema per status: the 2xx ones are allow-lists for the serializer. */
  response: Record<number, TSchema>;
}

export interface AdminRoute<S extends RouteSchemas = RouteSchemas> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Fastify's form: `/v1/realms/:realm/clients/:clientId`. */
  url: string;
  /**
   * admin:read (and admin:metrics) routes only read; admin:write routes run
   * in one unit of work (all or nothing). `none`: answered without a token,
   * allowed only for static documentation (a GET whose handler gets no
   * services: it has no data to show).
   */
  scope: AdminScope | 'none';
  /**
   * Why this admin:write route opens no unit of work of the request: it
   * writes no database (key files), or its service runs its own transaction
   * (re-applying the setup file, as at start).
   */
  outsideUnitOfWork?: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** The media type of the 2xx answers when not JSON (the body is then a string, sent as it is). */
  contentType?: string;
  schema: S;
  handle(input: RouteInput<S>, services: AdminServices): Promise<RouteReply>;
}

type Given<T> = T extends TSchema ? Static<T> : undefined;

export interface RouteInput<S extends RouteSchemas> {
  params: Given<S['params']>;
  query: Given<S['querystring']>;
  body: Given<S['body']>;
  principal: AdminPrincipal;
}

export interface RouteReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * What a write changed, for its `admin.<operationId>` audit event: the
   * target's name and its redacted views (clientView, accountView: never a
   * secret or hash) before and after.
   */
  audit?: { target: string; before?: unknown; after?: unknown };
}

/** What routes work with: the services the CLI uses, and the realms this server serves. */
export interface AdminServices {
  clients: ClientService;
  accounts: AccountService;
  issued: IssuedAdministration;
  realms: readonly ServedRealm[];
  /** Prometheus metrics (src/metrics/latchkey-metrics.ts); undefined with LATCHKEY_METRICS=off. */
  metrics?: { exposition(): Promise<string> } | undefined;
  initialAccessTokens: InitialAccessTokens;
  keys: KeyAdministration;
  realmConfigurations: RealmConfigurations;
  setup: SetupApplication;
  /** A realm's audit events, newest first (src/audit/audit-events.ts). */
  auditEvents: ReadAuditEvents;
}

/** A realm as served: its issuers (one per layout, its aliases included). */
export interface ServedRealm {
  name: string;
  issuers: { issuer: string; layout: string }[];
}

/** Declares a route with its handler typed from its schemas. */
export function adminRoute<S extends RouteSchemas>(route: AdminRoute<S>): AdminRoute {
  return route as unknown as AdminRoute;
}

/** @throws RealmNotFoundError for a realm this server does not serve (the CLI would write to any name; the API does not) */
export function requireRealm(services: AdminServices, name: string): string {
  if (!services.realms.some((realm) => realm.name === name)) throw new RealmNotFoundError(name);
  return name;
}
