import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { LimioOrder, Offer } from "@bridge/domain";
import type Stripe from "stripe";

/**
 * Tenant hooks (DESIGN §2, Limio's Stripe plugin hook points). A hook module exports either or
 * both functions; modules listed in HOOK_MODULES run in that order, each receiving the previous
 * one's params. Hooks must be deterministic for a given order: the writer retries a step with the
 * same idempotency key, and Stripe refuses a key reused with different parameters.
 */
export type HookContext = {
  orderId: string;
  /** Limio subscription id. */
  subscriptionId: string;
  source: string;
  order: LimioOrder;
  offer?: Offer | undefined;
  stripeCustomerId?: string | undefined;
  stripeSubscriptionId?: string | undefined;
};

type PayInvoiceHookContext = HookContext & { invoiceId: string; amountDue: number; currency: string };

export type BeforeStripeSubscription = (
  params: Stripe.SubscriptionCreateParams,
  ctx: HookContext,
) => Stripe.SubscriptionCreateParams | Promise<Stripe.SubscriptionCreateParams>;

type BeforeStripePayInvoice = (
  params: Stripe.InvoicePayParams,
  ctx: PayInvoiceHookContext,
) => Stripe.InvoicePayParams | Promise<Stripe.InvoicePayParams>;

export type HookModule = {
  beforeStripeSubscription?: BeforeStripeSubscription;
  beforeStripePayInvoice?: BeforeStripePayInvoice;
};

export type Hooks = {
  beforeStripeSubscription(
    params: Stripe.SubscriptionCreateParams,
    ctx: HookContext,
  ): Promise<Stripe.SubscriptionCreateParams>;
  beforeStripePayInvoice(
    params: Stripe.InvoicePayParams,
    ctx: PayInvoiceHookContext,
  ): Promise<Stripe.InvoicePayParams>;
  readonly names: string[];
};

/** A hook threw or returned something unusable: the order fails with `hook_failed` and this message. */
export class HookError extends Error {
  override readonly name = "HookError";
  readonly hook: string;
  constructor(hook: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.hook = hook;
  }
}

type Named<T> = { module: string; fn: T };

export function composeHooks(modules: { name: string; module: HookModule }[]): Hooks {
  const subs: Named<BeforeStripeSubscription>[] = [];
  const pays: Named<BeforeStripePayInvoice>[] = [];
  for (const { name, module } of modules) {
    if (module.beforeStripeSubscription) subs.push({ module: name, fn: module.beforeStripeSubscription });
    if (module.beforeStripePayInvoice) pays.push({ module: name, fn: module.beforeStripePayInvoice });
  }
  async function run<P extends object, C>(
    hook: string,
    chain: Named<(p: P, c: C) => P | Promise<P>>[],
    params: P,
    ctx: C,
  ) {
    let current = params;
    for (const { module, fn } of chain) {
      let next: P;
      try {
        next = await fn(structuredClone(current), ctx);
      } catch (error) {
        throw new HookError(
          hook,
          `${hook} (${module}) failed: ${(error as Error)?.message ?? String(error)}`,
          {
            cause: error,
          },
        );
      }
      if (!next || typeof next !== "object") {
        throw new HookError(hook, `${hook} (${module}) returned no params object`);
      }
      current = next;
    }
    return current;
  }
  return {
    beforeStripeSubscription: (params, ctx) => run("beforeStripeSubscription", subs, params, ctx),
    beforeStripePayInvoice: (params, ctx) => run("beforeStripePayInvoice", pays, params, ctx),
    names: modules.map((m) => m.name),
  };
}

/** Imports every module of HOOK_MODULES at boot; a missing module or a non-function export stops the boot. */
export async function loadHooks(paths: string[], cwd = process.cwd()): Promise<Hooks> {
  const modules: { name: string; module: HookModule }[] = [];
  for (const path of paths) {
    const specifier =
      path.startsWith(".") || isAbsolute(path) ? pathToFileURL(resolve(cwd, path)).href : path;
    const loaded = (await import(specifier)) as Record<string, unknown>;
    const module: HookModule = {};
    for (const key of ["beforeStripeSubscription", "beforeStripePayInvoice"] as const) {
      const fn = loaded[key];
      if (fn === undefined) continue;
      if (typeof fn !== "function") throw new Error(`hook module ${path}: ${key} must be a function`);
      module[key] = fn as never;
    }
    if (!module.beforeStripeSubscription && !module.beforeStripePayInvoice) {
      throw new Error(
        `hook module ${path} exports neither beforeStripeSubscription nor beforeStripePayInvoice`,
      );
    }
    modules.push({ name: path, module });
  }
  return composeHooks(modules);
}
