import type Stripe from "stripe";
import { advanceClock } from "../billing/clock.ts";
import { itemsOf } from "../billing/items.ts";
import { addIntervals, type Interval } from "../billing/time.ts";
import { type Call, paramsOf, type Route } from "../context.ts";
import { invalid, noSuch } from "../http/errors.ts";
import { paginate } from "../http/pagination.ts";
import { int, str } from "../http/params.ts";
import type { Stored } from "../state.ts";

/** Stripe lets a clock move at most two intervals of its shortest-interval subscription at once. */
function advanceLimit(call: Call, clock: Stored<"test_helpers.test_clock">): number | null {
  let limit: number | null = null;
  for (const sub of call.emu.state.all("subscription")) {
    if (sub.test_clock !== clock.id || sub.status === "canceled" || sub.status === "incomplete_expired")
      continue;
    for (const item of itemsOf(call.emu, sub.id)) {
      const r = item.price.recurring;
      const candidate = addIntervals(clock.frozen_time, r.interval as Interval, 2 * r.interval_count);
      if (limit === null || candidate < limit) limit = candidate;
    }
  }
  return limit;
}

function getClock(call: Call, id: string): Stored<"test_helpers.test_clock"> {
  const clock = call.emu.state.get("test_helpers.test_clock", id);
  if (!clock) throw noSuch("test_clock", id);
  return clock;
}

export const testClockRoutes: Route[] = [
  {
    method: "POST",
    path: "/v1/test_helpers/test_clocks",
    handler: (call) => {
      const b = paramsOf<Stripe.TestHelpers.TestClockCreateParams>(call);
      const frozen = int(b.frozen_time, "frozen_time");
      if (frozen === undefined)
        throw invalid("Missing required param: frozen_time.", "frozen_time", "parameter_missing");
      const now = Math.floor(Date.now() / 1000);
      const clock: Stored<"test_helpers.test_clock"> = {
        id: call.emu.state.newId("clock"),
        object: "test_helpers.test_clock",
        created: now,
        deletes_after: now + 30 * 86400,
        frozen_time: frozen,
        livemode: false,
        name: str(b.name, "name") ?? null,
        status: "ready",
        status_details: {},
      };
      call.emu.state.insert("test_helpers.test_clock", clock);
      call.emu.emit("test_helpers.test_clock.created", clock, { request: call.request });
      return clock;
    },
  },
  {
    method: "GET",
    path: "/v1/test_helpers/test_clocks/:id",
    handler: (call) => getClock(call, call.params.id!),
  },
  {
    method: "GET",
    path: "/v1/test_helpers/test_clocks",
    handler: (call) =>
      paginate(
        call.emu.state.all("test_helpers.test_clock"),
        call.body,
        "/v1/test_helpers/test_clocks",
        (o) => call.emu.state.render(o),
      ),
  },
  {
    method: "DELETE",
    path: "/v1/test_helpers/test_clocks/:id",
    handler: (call) => {
      const clock = getClock(call, call.params.id!);
      const { state } = call.emu;
      // Deleting a clock deletes the customers (and their objects) attached to it.
      for (const customer of state.all("customer")) {
        if (customer.test_clock !== clock.id) continue;
        for (const type of [
          "subscription",
          "subscription_schedule",
          "invoice",
          "payment_method",
          "setup_intent",
          "payment_intent",
        ] as const) {
          for (const obj of state.all(type)) if (obj.customer === customer.id) state.remove(type, obj.id);
        }
        state.remove("customer", customer.id);
      }
      state.remove("test_helpers.test_clock", clock.id);
      call.emu.emit("test_helpers.test_clock.deleted", clock, { request: call.request });
      return { id: clock.id, object: "test_helpers.test_clock", deleted: true };
    },
  },
  {
    method: "POST",
    path: "/v1/test_helpers/test_clocks/:id/advance",
    handler: (call) => {
      const clock = getClock(call, call.params.id!);
      const target = int(
        paramsOf<Stripe.TestHelpers.TestClockAdvanceParams>(call).frozen_time,
        "frozen_time",
      );
      if (target === undefined)
        throw invalid("Missing required param: frozen_time.", "frozen_time", "parameter_missing");
      if (clock.status !== "ready") {
        throw invalid(
          "The test clock is already advancing. Wait until it is ready before advancing it again.",
        );
      }
      if (target <= clock.frozen_time) {
        throw invalid(
          "The frozen_time must be after the current frozen_time of the test clock.",
          "frozen_time",
        );
      }
      const limit = advanceLimit(call, clock);
      if (limit !== null && target > limit) {
        throw invalid(
          "Cannot advance the test clock more than two intervals beyond the shortest subscription interval on it. Advance in smaller steps.",
          "frozen_time",
        );
      }
      clock.status = "advancing";
      clock.status_details = { advancing: { target_frozen_time: target } };
      call.emu.emit("test_helpers.test_clock.advancing", clock, { request: call.request });
      const response = call.emu.state.render(clock);
      // Stripe advances asynchronously: answer `advancing`, then work and flip to `ready`.
      setImmediate(() => {
        advanceClock(call.emu, clock, target).catch((error: unknown) => {
          call.emu.logger.error({ err: error, clock: clock.id }, "test clock advance failed");
          clock.status = "internal_failure";
          clock.status_details = {};
        });
      });
      return response;
    },
  },
];
