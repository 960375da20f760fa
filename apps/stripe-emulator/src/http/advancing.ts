import type { Call, Emulator, Route } from "../context.ts";
import { StripeApiError } from "./errors.ts";

/**
 * Stripe refuses to change objects of a test clock while it advances: the advance "starts
 * advancing" and "advancement is done when status changes to Ready"
 * (https://docs.stripe.com/api/test_clocks/advance); `advancing` means Stripe is "in the process
 * of advancing time for the test clock objects" (https://docs.stripe.com/api/test_clocks/object),
 * and integrations wait for `ready` before writing (bitwarden/server#7686,
 * `WaitForTestClockToAdvanceAsync`, polled before changing a clock's subscription). Neither the
 * reference nor the error-code list publishes the refusal's message or a code, so this one is the
 * emulator's own wording, without a code; refusing every write of the clock's objects (customer
 * creation on it included) is stricter-by-default (decision 006).
 */
export function refuseWhileAdvancing(emu: Emulator, route: Route, call: Call): void {
  if (route.method === "GET" || !isCheckedWrite(route.path)) return;
  const clockId = clockTouched(emu, call);
  if (!clockId) return;
  const clock = emu.state.get("test_helpers.test_clock", clockId);
  if (clock?.status !== "advancing") return;
  // Thrown before idempotency: like a lock timeout, nothing is kept for the key, so the same
  // request succeeds once the clock is ready.
  throw new StripeApiError(400, {
    type: "invalid_request_error",
    message: `Objects attached to test clock ${clockId} cannot be modified while the test clock is advancing. Wait until its status is \`ready\` and retry.`,
  });
}

/**
 * A clock's own routes (advance refuses a second advance itself) and previews, which change
 * nothing, are not checked.
 */
function isCheckedWrite(path: string): boolean {
  return !path.startsWith("/v1/test_helpers/test_clocks") && path !== "/v1/invoices/create_preview";
}

/**
 * The clock a write touches: that of the object it names (`:id`), else of the customer or
 * subscription it names in its parameters, else the clock a new customer is created on.
 */
function clockTouched(emu: Emulator, call: Call): string | null {
  for (const id of [call.params.id, refOf(call.body, "customer"), refOf(call.body, "subscription")]) {
    const named = id ? emu.state.find(id) : undefined;
    const clock = named ? clockOf(emu, named) : null;
    if (clock) return clock;
  }
  return refOf(call.body, "test_clock");
}

/** An object's clock: its own `test_clock`, else its customer's or its subscription's. */
function clockOf(emu: Emulator, obj: object): string | null {
  const own = refOf(obj, "test_clock");
  if (own) return own;
  for (const key of ["customer", "subscription"]) {
    const id = refOf(obj, key);
    const owner = id ? emu.state.find(id) : undefined;
    const clock = owner ? refOf(owner, "test_clock") : null;
    if (clock) return clock;
  }
  return null;
}

/** A reference field's id (stored objects keep references as ids: decision 006, typing). */
function refOf(obj: object, key: string): string | null {
  const value: unknown = (obj as Record<string, unknown>)[key];
  return typeof value === "string" ? value : null;
}
