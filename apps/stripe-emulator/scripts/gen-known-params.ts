/**
 * Generates the committed tables the emulator validates requests with, from stripe-node 23's
 * declared types (API version 2026-10-28.endive, the version the SDK pins):
 * - src/http/known-params.json: for each endpoint the emulator serves, its parameters at every
 *   depth (nested objects, arrays, enums), from the SDK's `*Params` types. Stripe refuses any
 *   other parameter with 400 `parameter_unknown` and a value outside an enum with 400 naming the
 *   parameter (`param: payment_settings[save_default_payment_method]`), and so does the emulator.
 * - src/http/error-codes.json: Stripe's published error codes (the SDK's `LastPaymentError.Code`
 *   union, docs.stripe.com/error-codes); the emulator answers no other `code`.
 * Run: node apps/stripe-emulator/scripts/gen-known-params.ts
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import ts from "typescript";

const require = createRequire(import.meta.url);
const sdkRoot = dirname(dirname(require.resolve("stripe")));
const sdkVersion = JSON.parse(readFileSync(join(sdkRoot, "package.json"), "utf8")).version as string;
const outDir = join(import.meta.dirname, "..", "src", "http");

/** Route → the SDK's params type (as `Stripe.X`). */
const ROUTES: Record<string, string> = {
  "POST /v1/customers": "CustomerCreateParams",
  "POST /v1/customers/:id": "CustomerUpdateParams",
  "GET /v1/customers": "CustomerListParams",
  "GET /v1/customers/search": "CustomerSearchParams",
  "POST /v1/products": "ProductCreateParams",
  "POST /v1/products/:id": "ProductUpdateParams",
  "POST /v1/prices": "PriceCreateParams",
  "POST /v1/prices/:id": "PriceUpdateParams",
  "GET /v1/prices": "PriceListParams",
  "POST /v1/coupons": "CouponCreateParams",
  "POST /v1/coupons/:id": "CouponUpdateParams",
  "GET /v1/coupons": "CouponListParams",
  "POST /v1/payment_methods": "PaymentMethodCreateParams",
  "POST /v1/payment_methods/:id": "PaymentMethodUpdateParams",
  "POST /v1/payment_methods/:id/attach": "PaymentMethodAttachParams",
  "POST /v1/payment_methods/:id/detach": "PaymentMethodDetachParams",
  "POST /v1/setup_intents": "SetupIntentCreateParams",
  "POST /v1/setup_intents/:id": "SetupIntentUpdateParams",
  "POST /v1/setup_intents/:id/confirm": "SetupIntentConfirmParams",
  "POST /v1/setup_intents/:id/cancel": "SetupIntentCancelParams",
  "POST /v1/payment_intents": "PaymentIntentCreateParams",
  "POST /v1/payment_intents/:id": "PaymentIntentUpdateParams",
  "POST /v1/payment_intents/:id/confirm": "PaymentIntentConfirmParams",
  "POST /v1/payment_intents/:id/cancel": "PaymentIntentCancelParams",
  "POST /v1/subscriptions": "SubscriptionCreateParams",
  "POST /v1/subscriptions/:id": "SubscriptionUpdateParams",
  "DELETE /v1/subscriptions/:id": "SubscriptionCancelParams",
  "GET /v1/subscriptions": "SubscriptionListParams",
  "POST /v1/subscription_schedules": "SubscriptionScheduleCreateParams",
  "POST /v1/subscription_schedules/:id": "SubscriptionScheduleUpdateParams",
  "POST /v1/subscription_schedules/:id/release": "SubscriptionScheduleReleaseParams",
  "POST /v1/subscription_schedules/:id/cancel": "SubscriptionScheduleCancelParams",
  "POST /v1/invoices": "InvoiceCreateParams",
  "POST /v1/invoices/:id": "InvoiceUpdateParams",
  "GET /v1/invoices": "InvoiceListParams",
  "POST /v1/invoices/create_preview": "InvoiceCreatePreviewParams",
  "POST /v1/invoices/:id/finalize": "InvoiceFinalizeInvoiceParams",
  "POST /v1/invoices/:id/pay": "InvoicePayParams",
  "POST /v1/invoices/:id/attach_payment": "InvoiceAttachPaymentParams",
  "POST /v1/invoices/:id/void": "InvoiceVoidInvoiceParams",
  "POST /v1/invoices/:id/mark_uncollectible": "InvoiceMarkUncollectibleParams",
  "POST /v1/webhook_endpoints": "WebhookEndpointCreateParams",
  "POST /v1/webhook_endpoints/:id": "WebhookEndpointUpdateParams",
  "POST /v1/test_helpers/test_clocks": "TestHelpers.TestClockCreateParams",
  "POST /v1/test_helpers/test_clocks/:id/advance": "TestHelpers.TestClockAdvanceParams",
};

/**
 * A parameter's shape: `"*"` any value; `"map"` free keys (metadata); a string array = the
 * enum's values (`""` listed when Stripe accepts an empty value to unset); `{ "[]": shape }` an
 * array; any other object = its known keys.
 */
type Shape = "*" | "map" | string[] | { [key: string]: Shape };

const probe = join(import.meta.dirname, "__params_probe.ts");
writeFileSync(
  probe,
  `import type Stripe from "stripe";\n${Object.values(ROUTES)
    .map((t, i) => `export type P${i} = Stripe.${t};`)
    .join("\n")}\n`,
);
const program = ts.createProgram([probe], {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  noEmit: true,
});
const checker = program.getTypeChecker();
const source = program.getSourceFile(probe)!;

function describe(type: ts.Type, depth: number): Shape {
  if (depth > 12) return "*";
  const parts = type.isUnion() ? type.types : [type];
  // The SDK joins every enum with `OtherString` (string & Record<never, never>) so that responses
  // may carry values newer than the SDK; as a request parameter only the listed values are valid.
  const isOtherString = (t: ts.Type) =>
    t.isIntersection() && t.types.some((part) => part.flags & ts.TypeFlags.String);
  const hasLiterals = parts.some((t) => t.isStringLiteral() && t.value !== "");
  const meaningful = parts.filter(
    (t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)) && !(hasLiterals && isOtherString(t)),
  );
  const literals = meaningful.filter((t) => t.isStringLiteral()) as ts.StringLiteralType[];
  const others = meaningful.filter((t) => !t.isStringLiteral());
  if (others.length === 0 && literals.length > 0) return literals.map((l) => l.value).sort();
  const objects = others.filter((t) => t.flags & ts.TypeFlags.Object);
  const scalars = others.filter((t) => !(t.flags & ts.TypeFlags.Object));
  // Open strings (`OtherString`, plain string) or mixed scalar unions take any value.
  if (scalars.some((t) => !(t.flags & ts.TypeFlags.BooleanLiteral)) && objects.length === 0) return "*";
  if (objects.length !== 1) return "*";
  const obj = objects[0]!;
  const emptyable = literals.some((l) => l.value === "");
  if (checker.isArrayType(obj)) {
    const [elem] = checker.getTypeArguments(obj as ts.TypeReference);
    return { "[]": elem ? describe(elem, depth + 1) : "*", ...(emptyable ? { "''": "*" } : {}) };
  }
  if (checker.getIndexInfosOfType(obj).length > 0) return "map";
  const props = checker.getPropertiesOfType(obj);
  if (props.length === 0) return emptyable ? { "''": "*" } : {};
  const out: Record<string, Shape> = emptyable ? { "''": "*" } : {};
  for (const prop of props) {
    out[prop.name] = describe(checker.getTypeOfSymbolAtLocation(prop, source), depth + 1);
  }
  return out;
}

const routes: Record<string, Shape> = {};
const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(source)!);
Object.keys(ROUTES).forEach((route, i) => {
  const symbol = exports.find((e) => e.name === `P${i}`)!;
  routes[route] = describe(checker.getDeclaredTypeOfSymbol(symbol), 0);
});

const text = readFileSync(join(sdkRoot, "cjs", "resources", "PaymentIntents.d.ts"), "utf8");
const codeLine = text.split("\n").find((l) => l.includes("type Code =") && l.includes("'rate_limit'"));
if (!codeLine) throw new Error("Stripe's error code union not found in PaymentIntents.d.ts");
const codes = [...codeLine.matchAll(/'([a-z0-9_]+)'/g)].map((m) => m[1]!).sort();

writeFileSync(
  join(outDir, "known-params.json"),
  `${JSON.stringify({ generatedFrom: `stripe-node ${sdkVersion} *Params types`, routes })}\n`,
);
writeFileSync(
  join(outDir, "error-codes.json"),
  `${JSON.stringify({ generatedFrom: `stripe-node ${sdkVersion} PaymentIntent.LastPaymentError.Code`, codes }, null, 1)}\n`,
);
(await import("node:fs")).rmSync(probe);
console.log(`wrote ${Object.keys(routes).length} endpoints, ${codes.length} error codes`);
