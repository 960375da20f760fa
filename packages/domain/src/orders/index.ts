export * from "./parse-limio-order.ts";
export * from "./schemas.ts";
