export * from "./field-rules.ts";
export * from "./parse-limio-order.ts";
export * from "./same-order.ts";
export * from "./schemas.ts";
