import type { FastifyInstance, RouteOptions } from "fastify";

/**
 * The methods each route path answers, collected as routes are added, so a path asked with a
 * method it does not serve answers 405 with `Allow` (RFC 9110 §15.5.5), not 404: the errors
 * plugin's not-found handler asks `allowedMethods`. Route urls are Fastify patterns
 * (`/api/order/:id`, `/docs/*`), matched against the request's path.
 */
export function routeMethodIndex(app: FastifyInstance): (path: string) => string[] {
  const routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  app.addHook("onRoute", (route: RouteOptions) => {
    const url = route.url;
    const entry = routes.get(url) ?? { pattern: patternOf(url), methods: new Set<string>() };
    for (const method of [route.method].flat()) entry.methods.add(method.toUpperCase());
    // Fastify serves HEAD for every GET route (exposeHeadRoutes).
    if (entry.methods.has("GET")) entry.methods.add("HEAD");
    routes.set(url, entry);
  });
  return (path) => {
    const allowed = new Set<string>();
    for (const { pattern, methods } of routes.values()) {
      if (pattern.test(path)) for (const method of methods) allowed.add(method);
    }
    return [...allowed].sort();
  };
}

function patternOf(url: string): RegExp {
  const source = url
    .split("/")
    .map((segment) =>
      segment === "*"
        ? ".*"
        : segment.startsWith(":")
          ? "[^/]+"
          : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
    )
    .join("/");
  return new RegExp(`^${source}/?$`);
}
