import type Stripe from "stripe";
import { type Call, paramsOf, type Route } from "../context.ts";
import { nowFor } from "../events/events.ts";
import { invalid, noSuch } from "../http/errors.ts";
import { paginate } from "../http/pagination.ts";
import { bool, mergeMetadata, metadata, nullableStr, requireStr, str } from "../http/params.ts";
import type { Stored } from "../state.ts";
import type { Form } from "../types.ts";

/** Create a product from `products.create` params or a price's `product_data`. */
export function createProduct(
  call: Call,
  b: Form<Stripe.ProductCreateParams>,
  id?: string,
): Stored<"product"> {
  const { state } = call.emu;
  const productId = id ?? state.newId("prod", 14);
  if (state.get("product", productId)) {
    throw invalid(`Product already exists.`, "id", "resource_already_exists");
  }
  const now = nowFor(call.emu, null);
  const product: Stored<"product"> = {
    id: productId,
    object: "product",
    active: bool(b.active, "active") ?? true,
    created: now,
    default_price: null,
    description: str(b.description, "description") ?? null,
    images: Array.isArray(b.images) ? b.images : [],
    livemode: false,
    marketing_features: [],
    metadata: metadata(b.metadata),
    name: requireStr(b.name, "name"),
    package_dimensions: null,
    shippable: null,
    statement_descriptor: str(b.statement_descriptor, "statement_descriptor") ?? null,
    tax_code: str(b.tax_code, "tax_code") ?? null,
    type: "service",
    unit_label: str(b.unit_label, "unit_label") ?? null,
    updated: now,
    url: str(b.url, "url") ?? null,
  };
  state.insert("product", product);
  call.emu.emit("product.created", product, { request: call.request });
  return product;
}

function getProduct(call: Call, id: string): Stored<"product"> {
  const p = call.emu.state.get("product", id);
  if (!p || p.deleted) throw noSuch("product", id);
  return p;
}

export const productRoutes: Route[] = [
  {
    method: "POST",
    path: "/v1/products",
    handler: (call) => {
      const params = paramsOf<Stripe.ProductCreateParams>(call);
      return createProduct(call, params, str(params.id, "id"));
    },
  },
  { method: "GET", path: "/v1/products/:id", handler: (call) => getProduct(call, call.params.id!) },
  {
    method: "POST",
    path: "/v1/products/:id",
    handler: (call) => {
      const product = getProduct(call, call.params.id!);
      const before = call.emu.state.render(product);
      const b = paramsOf<Stripe.ProductUpdateParams>(call);
      if ("name" in b) product.name = requireStr(b.name, "name");
      for (const key of ["description", "statement_descriptor", "tax_code", "unit_label", "url"] as const) {
        if (key in b) product[key] = nullableStr(b[key], key) ?? null;
      }
      if ("active" in b) product.active = bool(b.active, "active") ?? product.active;
      if ("metadata" in b) product.metadata = mergeMetadata(product.metadata, b.metadata);
      if ("default_price" in b) {
        const priceId = nullableStr(b.default_price, "default_price");
        if (priceId && call.emu.state.get("price", priceId)?.product !== product.id)
          throw noSuch("price", priceId, "default_price");
        product.default_price = priceId;
      }
      product.updated = nowFor(call.emu, null);
      call.emu.emit("product.updated", product, { request: call.request, previous: before });
      return product;
    },
  },
  {
    method: "DELETE",
    path: "/v1/products/:id",
    handler: (call) => {
      const product = getProduct(call, call.params.id!);
      if (call.emu.state.values("price").some((p) => p.product === product.id)) {
        throw invalid("This product cannot be deleted because it has one or more user-created prices.");
      }
      product.deleted = true;
      call.emu.emit("product.deleted", product, { request: call.request });
      return { id: product.id, object: "product", deleted: true };
    },
  },
  {
    method: "GET",
    path: "/v1/products",
    handler: (call) => {
      const active = bool(call.body.active, "active");
      const ids = Array.isArray(call.body.ids) ? (call.body.ids as string[]) : undefined;
      const rows = call.emu.state
        .all("product")
        .filter(
          (p) => !p.deleted && (active === undefined || p.active === active) && (!ids || ids.includes(p.id)),
        );
      return paginate(rows, call.body, "/v1/products", (o) => call.emu.state.render(o));
    },
  },
];
