import type Stripe from "stripe";
import { type Call, paramsOf, type Route } from "../context.ts";
import { nowFor } from "../events/events.ts";
import { invalid, noSuch } from "../http/errors.ts";
import { paginate } from "../http/pagination.ts";
import {
  arr,
  bool,
  int,
  mergeMetadata,
  metadata,
  nullableStr,
  oneOf,
  requireStr,
  str,
} from "../http/params.ts";
import type { Stored } from "../state.ts";
import type { Form } from "../types.ts";
import { createProduct } from "./products.ts";

const TAX_BEHAVIORS = ["exclusive", "inclusive", "unspecified"] as const;

function setLookupKey(call: Call, price: Stored<"price">, key: string | null, transfer: boolean): void {
  if (!key) {
    price.lookup_key = null;
    return;
  }
  if (key.length > 200) throw invalid("Invalid lookup_key: must be at most 200 characters.", "lookup_key");
  const holder = call.emu.state.values("price").find((p) => p.lookup_key === key && p.id !== price.id);
  if (holder) {
    if (!transfer) {
      throw invalid(`A price (\`${holder.id}\`) already uses that lookup key.`, "lookup_key");
    }
    const before = call.emu.state.render(holder);
    holder.lookup_key = null;
    call.emu.emit("price.updated", holder, { request: call.request, previous: before });
  }
  price.lookup_key = key;
}

/** Create a price from `prices.create` params or an item's `price_data`. */
export function createPrice(
  call: Call,
  b: Form<Stripe.PriceCreateParams>,
  options: { fromPriceData?: boolean; param?: string } = {},
): Stored<"price"> {
  const { state } = call.emu;
  const p = options.param ? `${options.param}[` : "";
  const q = options.param ? "]" : "";
  const currency = requireStr(b.currency, `${p}currency${q}`).toLowerCase();
  let productId = str(b.product, "product");
  if (!productId && b.product_data) productId = createProduct(call, b.product_data).id;
  if (!productId)
    throw invalid(`Missing required param: ${p}product${q}.`, `${p}product${q}`, "parameter_missing");
  if (!state.get("product", productId)) throw noSuch("product", productId, `${p}product${q}`);
  const unitAmount =
    int(b.unit_amount, "unit_amount") ??
    (b.unit_amount_decimal ? Math.round(Number(b.unit_amount_decimal)) : undefined);
  if (unitAmount === undefined)
    throw invalid(`Missing required param: ${p}unit_amount${q}.`, `${p}unit_amount${q}`, "parameter_missing");
  let recurring: Stripe.Price.Recurring | null = null;
  if (b.recurring) {
    const interval = oneOf(b.recurring.interval, ["day", "week", "month", "year"], "recurring[interval]");
    if (!interval)
      throw invalid(
        "Missing required param: recurring[interval].",
        "recurring[interval]",
        "parameter_missing",
      );
    recurring = {
      interval,
      interval_count: int(b.recurring.interval_count, "recurring[interval_count]") ?? 1,
      meter: null,
      trial_period_days: null,
      usage_type:
        oneOf(b.recurring.usage_type, ["licensed", "metered"], "recurring[usage_type]") ?? "licensed",
    };
  }
  const price: Stored<"price"> = {
    id: state.newId("price"),
    object: "price",
    active: options.fromPriceData ? false : (bool(b.active, "active") ?? true),
    billing_scheme: "per_unit",
    created: nowFor(call.emu, null),
    currency,
    custom_unit_amount: null,
    livemode: false,
    lookup_key: null,
    metadata: metadata(b.metadata),
    nickname: str(b.nickname, "nickname") ?? null,
    product: productId,
    recurring,
    tax_behavior: oneOf(b.tax_behavior, TAX_BEHAVIORS, "tax_behavior") ?? "unspecified",
    tiers_mode: null,
    transform_quantity: null,
    type: recurring ? "recurring" : "one_time",
    unit_amount: unitAmount,
    unit_amount_decimal: String(unitAmount),
  };
  setLookupKey(
    call,
    price,
    str(b.lookup_key, "lookup_key") ?? null,
    bool(b.transfer_lookup_key, "transfer_lookup_key") ?? false,
  );
  state.insert("price", price);
  call.emu.emit("price.created", price, { request: call.request });
  return price;
}

/**
 * A recurring price's `recurring`; a one-time price is refused where a subscription needs a
 * recurring one (Stripe's message, docs.stripe.com/api/subscriptions/create#create_subscription-items-price).
 */
export function recurringOf(price: Stored<"price">, param: string): Stripe.Price.Recurring {
  if (!price.recurring)
    throw invalid(
      "The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.",
      param,
    );
  return price.recurring;
}

export function getPrice(call: Call, id: string, param = "id"): Stored<"price"> {
  const price = call.emu.state.get("price", id);
  if (!price) throw noSuch("price", id, param);
  return price;
}

export const priceRoutes: Route[] = [
  {
    method: "POST",
    path: "/v1/prices",
    handler: (call) => createPrice(call, paramsOf<Stripe.PriceCreateParams>(call)),
  },
  { method: "GET", path: "/v1/prices/:id", handler: (call) => getPrice(call, call.params.id!) },
  {
    method: "POST",
    path: "/v1/prices/:id",
    handler: (call) => {
      const price = getPrice(call, call.params.id!);
      const before = call.emu.state.render(price);
      const b = paramsOf<Stripe.PriceUpdateParams>(call);
      if ("active" in b) price.active = bool(b.active, "active") ?? price.active;
      if ("nickname" in b) price.nickname = nullableStr(b.nickname, "nickname") ?? null;
      if ("metadata" in b) price.metadata = mergeMetadata(price.metadata, b.metadata);
      if ("tax_behavior" in b)
        price.tax_behavior = oneOf(b.tax_behavior, TAX_BEHAVIORS, "tax_behavior") ?? null;
      if ("lookup_key" in b) {
        setLookupKey(
          call,
          price,
          nullableStr(b.lookup_key, "lookup_key") ?? null,
          bool(b.transfer_lookup_key, "transfer_lookup_key") ?? false,
        );
      }
      call.emu.emit("price.updated", price, { request: call.request, previous: before });
      return price;
    },
  },
  {
    method: "GET",
    path: "/v1/prices",
    handler: (call) => {
      const b = paramsOf<Stripe.PriceListParams>(call);
      const active = bool(b.active, "active");
      const product = str(b.product, "product");
      const currency = str(b.currency, "currency");
      const type = str(b.type, "type");
      const lookupKeys = b.lookup_keys === undefined ? undefined : arr(b.lookup_keys).map(String);
      const interval = b.recurring?.interval;
      const rows = call.emu.state
        .all("price")
        .filter(
          (p) =>
            (active === undefined || p.active === active) &&
            (!product || p.product === product) &&
            (!currency || p.currency === currency) &&
            (!type || p.type === type) &&
            (!lookupKeys || (p.lookup_key !== null && lookupKeys.includes(p.lookup_key))) &&
            (!interval || p.recurring?.interval === interval),
        );
      return paginate(rows, b, "/v1/prices", (o) => call.emu.state.render(o));
    },
  },
];
