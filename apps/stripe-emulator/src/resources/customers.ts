import type Stripe from "stripe";
import { type Call, paramsOf, type Route } from "../context.ts";
import { nowFor } from "../events/events.ts";
import { invalid, noSuch } from "../http/errors.ts";
import { paginate } from "../http/pagination.ts";
import { int, mergeMetadata, metadata, nullableStr, oneOf, str } from "../http/params.ts";
import type { Stored } from "../state.ts";
import { attachPaymentMethod } from "./payment_methods.ts";

function address(value: unknown): Stripe.Address | null {
  if (value === undefined || value === "" || value === null) return null;
  const v = value as Record<string, unknown>;
  const field = (k: keyof Stripe.Address) => {
    const x = v[k];
    return typeof x === "string" && x !== "" ? x : null;
  };
  return {
    city: field("city"),
    country: field("country"),
    line1: field("line1"),
    line2: field("line2"),
    postal_code: field("postal_code"),
    state: field("state"),
  };
}

function shipping(value: unknown): Stripe.Customer.Shipping | null {
  if (value === undefined || value === "" || value === null) return null;
  const v = value as Record<string, unknown>;
  if (!v.name) throw invalid("Missing required param: shipping[name].", "shipping[name]");
  return {
    address: address(v.address ?? {}) ?? undefined,
    name: String(v.name),
    phone: v.phone ? String(v.phone) : null,
  };
}

export function getCustomer(call: Call, id: string, param = "id"): Stored<"customer"> {
  const customer = call.emu.state.get("customer", id);
  if (!customer || customer.deleted) throw noSuch("customer", id, param);
  return customer;
}

function applyInvoiceSettings(call: Call, customer: Stored<"customer">, value: unknown): void {
  if (value === undefined) return;
  const v = (value || {}) as Record<string, unknown>;
  if ("default_payment_method" in v) {
    const pmId = nullableStr(v.default_payment_method, "invoice_settings[default_payment_method]") ?? null;
    if (pmId) {
      const pm = call.emu.state.get("payment_method", pmId);
      if (!pm) throw noSuch("PaymentMethod", pmId, "invoice_settings[default_payment_method]");
      if (pm.customer !== customer.id) {
        throw invalid(
          `The customer does not have a payment method with the ID ${pmId}. The payment method must be attached to the customer.`,
          "invoice_settings[default_payment_method]",
          "resource_missing",
        );
      }
    }
    customer.invoice_settings.default_payment_method = pmId;
  }
  if ("footer" in v)
    customer.invoice_settings.footer = nullableStr(v.footer, "invoice_settings[footer]") ?? null;
}

const UPDATABLE = ["email", "name", "phone", "description"] as const;

/**
 * maxLength of POST /v1/customers and /v1/customers/{customer} in Stripe's OpenAPI description
 * (phone 20, name 256, email 512, description 5000); refused before anything is written, with
 * the message Stripe gives a coupon's long name (coupons.ts).
 */
const MAX_LENGTHS = { phone: 20, name: 256, email: 512, description: 5000 } as const;
function checkLengths(b: Record<string, unknown>): void {
  for (const [key, max] of Object.entries(MAX_LENGTHS)) {
    const value = b[key];
    if (typeof value === "string" && value.length > max) {
      throw invalid(`Invalid ${key}: must be at most ${max} characters long.`, key);
    }
  }
}
const TAX_EXEMPT = ["exempt", "none", "reverse"] as const;

function create(call: Call): Stored<"customer"> {
  const { state } = call.emu;
  const b = paramsOf<Stripe.CustomerCreateParams>(call);
  checkLengths(b);
  const clockId = str(b.test_clock, "test_clock") ?? null;
  if (clockId && !state.get("test_helpers.test_clock", clockId))
    throw noSuch("test_clock", clockId, "test_clock");
  const id = state.newId("cus", 14);
  const customer: Stored<"customer"> = {
    id,
    object: "customer",
    address: address(b.address),
    balance: int(b.balance, "balance") ?? 0,
    created: nowFor(call.emu, clockId),
    currency: null,
    default_source: null,
    delinquent: false,
    description: str(b.description, "description") ?? null,
    discount: null,
    email: str(b.email, "email") ?? null,
    invoice_prefix: state.randomString(8).toUpperCase(),
    invoice_settings: {
      custom_fields: null,
      default_payment_method: null,
      footer: null,
      rendering_options: null,
    },
    livemode: false,
    metadata: metadata(b.metadata),
    name: str(b.name, "name") ?? null,
    next_invoice_sequence: 1,
    phone: str(b.phone, "phone") ?? null,
    preferred_locales: Array.isArray(b.preferred_locales) ? b.preferred_locales : [],
    shipping: shipping(b.shipping),
    tax_exempt: oneOf(b.tax_exempt, TAX_EXEMPT, "tax_exempt") ?? "none",
    test_clock: clockId,
  };
  state.insert("customer", customer);
  let invoiceSettings = b.invoice_settings;
  if (b.payment_method) {
    const requested = String(b.payment_method);
    let attached: Stored<"payment_method">;
    try {
      attached = attachPaymentMethod(call, requested, customer, "payment_method");
    } catch (error) {
      // A card Stripe refuses on attach refuses the whole create: no customer is left behind.
      state.remove("customer", customer.id);
      throw error;
    }
    // Stripe's documented test snippet names the same test shortcut (pm_card_visa) as the
    // default: it means the method attached by this request, which got a new id.
    const settings = invoiceSettings as Record<string, unknown> | undefined;
    if (attached.id !== requested && settings?.default_payment_method === requested) {
      invoiceSettings = { ...settings, default_payment_method: attached.id };
    }
  }
  applyInvoiceSettings(call, customer, invoiceSettings);
  call.emu.emit("customer.created", customer, { request: call.request });
  return customer;
}

function update(call: Call): Stored<"customer"> {
  const customer = getCustomer(call, call.params.id!);
  const before = call.emu.state.render(customer);
  const b = paramsOf<Stripe.CustomerUpdateParams>(call);
  checkLengths(b);
  for (const key of UPDATABLE) if (key in b) customer[key] = nullableStr(b[key], key) ?? null;
  if ("address" in b) customer.address = address(b.address);
  if ("shipping" in b) customer.shipping = shipping(b.shipping);
  if ("metadata" in b) customer.metadata = mergeMetadata(customer.metadata, b.metadata);
  if ("balance" in b) customer.balance = int(b.balance, "balance") ?? 0;
  if ("preferred_locales" in b)
    customer.preferred_locales = Array.isArray(b.preferred_locales) ? b.preferred_locales : [];
  if ("tax_exempt" in b) customer.tax_exempt = oneOf(b.tax_exempt, TAX_EXEMPT, "tax_exempt") ?? null;
  applyInvoiceSettings(call, customer, b.invoice_settings);
  call.emu.emit("customer.updated", customer, { request: call.request, previous: before });
  return customer;
}

/**
 * Stripe's search query language for customers (docs.stripe.com/search#search-query-language and
 * #query-fields-for-customers): clauses `field:value` joined by spaces, `AND` or `OR` (never both),
 * `-` negates a clause; string values quoted ('…' as in the API reference's examples, or "…").
 * Customer fields and their types: `email`, `name`, `phone` are strings, `metadata['k']` a token,
 * `created` numeric. Any other field is refused, as Stripe refuses unsupported ones.
 */
const CUSTOMER_SEARCH_FIELDS: Record<string, "string" | "token" | "numeric"> = {
  email: "string",
  name: "string",
  phone: "string",
  metadata: "token",
  created: "numeric",
};

/**
 * Stripe documents a search as seeing data "in under 1 minute" after a write
 * (docs.stripe.com/search#data-freshness): the emulator takes the whole minute, so a customer is
 * searchable only once its own clock (its test clock, else the wall clock) is 60 s past its
 * creation. Updates are searchable at once (looser than Stripe: not modelled).
 */
const SEARCH_DELAY_SECONDS = 60;

/** Words of a string field, compared ignoring case. */
const wordsOf = (text: string) =>
  text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);

/**
 * `:` on a string field "returns any record where that record contains all of the words from the
 * query in the same order" (name:"one two three" matches "one two three four"), ignoring case;
 * `~` is a substring match of at least 3 characters, ignoring case. So `email:'ada@example.com'`
 * also matches `x.ada@example.com`: callers wanting one address compare the results themselves.
 */
function stringMatches(have: string, op: string, want: string): boolean {
  if (op === "~") return have.toLowerCase().includes(want.toLowerCase());
  const words = wordsOf(have);
  let at = 0;
  for (const word of wordsOf(want)) {
    at = words.indexOf(word, at) + 1;
    if (at === 0) return false;
  }
  return true;
}

type Matcher = (customer: Stored<"customer">) => boolean;

const badQuery = (query: string) => invalid(`Invalid search query: ${query}`, "query");

/** One clause (`-`? field, operator, value) as a test of a customer; refused when Stripe refuses it. */
function parseClause(clause: string, query: string): Matcher {
  const m = clause.match(/^(-?)(\w+)(?:\[['"]([^'"]+)['"]\])?\s*(:|~|>=|<=|>|<)\s*(?:'(.*)'|"(.*)"|(\d+))$/);
  const type = m ? CUSTOMER_SEARCH_FIELDS[m[2]!] : undefined;
  if (!m || !type || (m[2] === "metadata") !== (m[3] !== undefined)) throw badQuery(query);
  const [, negated, field, key, op, single, double, number] = m;
  const value = single ?? double ?? number!;
  const operatorFits =
    type === "numeric" ? op !== "~" : type === "string" ? op === ":" || op === "~" : op === ":";
  // "You must use quotation marks around string values"; substrings are 3 characters at least.
  if (!operatorFits || (op === "~" && value.length < 3) || (type !== "numeric" && number !== undefined))
    throw badQuery(query);
  const test = (customer: Stored<"customer">): boolean => {
    const actual = field === "metadata" ? customer.metadata?.[key!] : searchField(customer, field!);
    if (type === "numeric") {
      const [have, want] = [Number(actual), Number(value)];
      return {
        ":": have === want,
        ">": have > want,
        "<": have < want,
        ">=": have >= want,
        "<=": have <= want,
      }[op as ":" | ">" | "<" | ">=" | "<="];
    }
    if (typeof actual !== "string") return false;
    return type === "token"
      ? actual.toLowerCase() === value.toLowerCase()
      : stringMatches(actual, op!, value);
  };
  return negated ? (customer) => !test(customer) : test;
}

/** The whole query as a test of a customer, parsed (and refused if invalid) before any is read. */
function parseSearch(query: string): Matcher {
  const clauses =
    query.match(
      /-?\w+(?:\[['"][^'"]+['"]\])?\s*(?::|~|>=|<=|>|<)\s*(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\d+)/g,
    ) ?? [];
  // Between the clauses only spaces and one kind of joiner ("AND and OR are mutually exclusive").
  const between = clauses.reduce((left, c) => left.replace(c, " "), query);
  const joiners = new Set(between.match(/\b(AND|OR)\b/gi)?.map((j) => j.toUpperCase()));
  if (
    clauses.length === 0 ||
    clauses.length > 10 ||
    joiners.size > 1 ||
    between.replace(/\b(AND|OR)\b/gi, "").trim()
  )
    throw badQuery(query);
  const unquoted = (c: string) => c.replace(/\\(['"\\])/g, "$1");
  const tests = clauses.map((c) => parseClause(unquoted(c.trim()), query));
  return joiners.has("OR") ? (c) => tests.some((t) => t(c)) : (c) => tests.every((t) => t(c));
}

/** A searchable top-level field of a customer (CUSTOMER_SEARCH_FIELDS). */
function searchField(customer: Stored<"customer">, field: string): unknown {
  return Object.entries(customer).find(([k]) => k === field)?.[1];
}

/** Is the customer in the search index yet (see SEARCH_DELAY_SECONDS)? */
const searchable = (call: Call, customer: Stored<"customer">) =>
  nowFor(call.emu, customer.test_clock) - customer.created >= SEARCH_DELAY_SECONDS;

export const customerRoutes: Route[] = [
  { method: "POST", path: "/v1/customers", handler: create },
  {
    method: "GET",
    path: "/v1/customers/search",
    handler: (call) => {
      const query = str(call.body.query, "query");
      if (!query) throw invalid("Missing required param: query.", "query", "parameter_missing");
      const matches = parseSearch(query);
      const rows = call.emu.state
        .all("customer")
        .filter((c) => !c.deleted && searchable(call, c) && matches(c));
      const limit = int(call.body.limit, "limit") ?? 10;
      return {
        object: "search_result",
        data: rows.slice(0, limit).map((c) => call.emu.state.render(c)),
        has_more: rows.length > limit,
        next_page: null,
        url: "/v1/customers/search",
      };
    },
  },
  {
    method: "GET",
    path: "/v1/customers/:id",
    handler: (call) => {
      const c = call.emu.state.get("customer", call.params.id!);
      if (!c) throw noSuch("customer", call.params.id!);
      // Stripe answers a deleted customer with its deleted form.
      return c.deleted ? { id: c.id, object: "customer", deleted: true } : c;
    },
  },
  { method: "POST", path: "/v1/customers/:id", handler: update },
  {
    method: "DELETE",
    path: "/v1/customers/:id",
    handler: (call) => {
      const customer = getCustomer(call, call.params.id!);
      customer.deleted = true;
      call.emu.emit("customer.deleted", customer, { request: call.request });
      return { id: customer.id, object: "customer", deleted: true };
    },
  },
  {
    method: "GET",
    path: "/v1/customers",
    handler: (call) => {
      const email = str(call.body.email, "email");
      const clock = str(call.body.test_clock, "test_clock");
      const rows = call.emu.state
        .all("customer")
        .filter(
          (c) =>
            !c.deleted &&
            (email === undefined || c.email === email) &&
            (clock === undefined || c.test_clock === clock),
        );
      return paginate(rows, call.body, "/v1/customers", (o) => call.emu.state.render(o));
    },
  },
  {
    method: "GET",
    path: "/v1/customers/:id/payment_methods",
    handler: (call) => {
      const customer = getCustomer(call, call.params.id!);
      const type = str(call.body.type, "type");
      const rows = call.emu.state
        .all("payment_method")
        .filter((pm) => pm.customer === customer.id && (!type || pm.type === type));
      return paginate(rows, call.body, `/v1/customers/${customer.id}/payment_methods`, (o) =>
        call.emu.state.render(o),
      );
    },
  },
];
