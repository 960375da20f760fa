/**
 * `/api/orders…` (the bridge's first path) is an alias of Limio's `/api/order…` (decision 021):
 * the url is rewritten before routing, so both paths reach one route, one handler and one
 * per-API-key rate limit (two routes would each count their own).
 */
export const rewriteOrderAlias = (url: string): string =>
  url.replace(/^\/api\/orders(?=[/?]|$)/, "/api/order");
