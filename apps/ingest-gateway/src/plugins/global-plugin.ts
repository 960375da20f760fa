import type { FastifyPluginAsync } from "fastify";

/**
 * Marks a plugin as not encapsulated (what `fastify-plugin` does), so what it registers (hooks,
 * decorators, the error handler) applies to the whole app and not only to its own scope.
 */
export function globalPlugin<T extends FastifyPluginAsync<never>>(plugin: T, name: string): T {
  Object.assign(plugin, {
    [Symbol.for("skip-override")]: true,
    [Symbol.for("fastify.display-name")]: name,
  });
  return plugin;
}
