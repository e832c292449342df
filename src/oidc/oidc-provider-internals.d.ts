// oidc-provider's reader of its per-provider internal state, which the
// package ships but does not type; src/oidc/engine-configuration.ts reads a few values with it.
declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  export default function get(provider: object): { configuration?: { scopes?: unknown; features?: unknown; routes?: unknown } } | undefined;
}

// The engine's request context store (an AsyncLocalStorage of its Koa context);
// src/oidc/structured-access-tokens.ts reads the route of the request in flight with it.
declare module 'oidc-provider/lib/helpers/als.js' {
  const store: import('node:async_hooks').AsyncLocalStorage<{ oidc?: { route?: string } } | undefined>;
  export default store;
}
