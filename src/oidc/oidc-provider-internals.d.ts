// oidc-provider's reader of its per-provider internal state, which the
// package ships but does not type; src/oidc/engine-configuration.ts reads one value with it.
declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  export default function get(provider: object): { configuration?: { scopes?: unknown } } | undefined;
}
