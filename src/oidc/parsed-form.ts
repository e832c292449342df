import type Provider from 'oidc-provider';

/** What a step sees of the request whose form was just parsed. */
export interface FormContext {
  route: string;
  headers: Record<string, string | undefined>;
}

type FormStep = { routes: ReadonlySet<string>; step: (form: Record<string, unknown>, context: FormContext) => void };

const BODY = Symbol('latchkey.oidc.body');
const stepsOf = new WeakMap<object, FormStep[]>();

/**
 * Runs `step` on a request's form at `routes` as the engine stores it
 * (`ctx.oidc.body`), before the engine reads any parameter from it. The
 * steps that change a form on its way in (a JWT admitted at introspection,
 * a credential sent twice, a client named by Basic alone) all hook here,
 * once per provider, in the order they were installed.
 */
export function onParsedForm(provider: Provider, routes: readonly string[], step: FormStep['step']): void {
  const prototype = (provider as unknown as { OIDCContext: { prototype: object } }).OIDCContext.prototype;
  let steps = stepsOf.get(prototype);
  if (!steps) {
    stepsOf.set(prototype, steps = []);
    const installed = steps;
    Object.defineProperty(prototype, 'body', {
      configurable: true,
      get(this: Record<symbol, unknown>) {
        return this[BODY];
      },
      set(this: Record<symbol, unknown> & { route?: string; ctx: { headers: Record<string, string | undefined> } }, body: unknown) {
        const route = this.route ?? '';
        if (body && typeof body === 'object') {
          for (const { routes: at, step: run } of installed) if (at.has(route)) run(body as Record<string, unknown>, { route, headers: this.ctx.headers });
        }
        this[BODY] = body;
      },
    });
  }
  steps.push({ routes: new Set(routes), step });
}
