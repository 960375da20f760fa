// A process that takes from a shared Stripe budget as fast as it can for DURATION_MS, starting
// when a line arrives on stdin, and prints the database time of each grant, one per line: the
// shared-budget test runs several of these, as replicas of the writer and the sync-consumer would be.
import { once } from "node:events";
import { createStore, stripeBudgetStore } from "@bridge/store";
import { type BudgetLane, createSharedBudget } from "@bridge/stripe-client";
import { recordingGrants } from "./stripe-budget-grants.ts";

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const store = createStore(env("DATABASE_URL"), { poolSize: 2 });
const grants: number[] = [];
const budget = createSharedBudget({
  store: recordingGrants(stripeBudgetStore(store.db, env("BUDGET_ID")), grants),
  lane: env("LANE") as BudgetLane,
  limitPerSecond: Number(env("LIMIT")),
});
await store.ping();
process.stdout.write("ready\n");
await once(process.stdin, "data");
const endAt = Date.now() + Number(env("DURATION_MS"));
while (Date.now() < endAt) await budget.acquire();
process.stdout.write(`grants ${grants.join(",")}\n`);
await budget.close();
await store.close();
