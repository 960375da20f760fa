import { CatalogLoadError, loadCatalog } from "@bridge/store";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteDeps } from "../../deps.ts";
import { errorResponses, HttpError } from "../../http-errors.ts";
import { bodyCheckedByHandler } from "../body-checked-by-handler.ts";

const loadAnswer = z
  .object({
    offers: z.array(
      z.object({
        id: z.string(),
        version: z
          .string()
          .meta({ description: "Limio's offer version, or a hash of the offer when it had none" }),
        name: z.string(),
        change: z.enum(["added", "updated", "unchanged"]).meta({
          description:
            "added: a new offer; updated: a new current version (the old ones kept); unchanged: nothing done",
        }),
      }),
    ),
  })
  .meta({
    id: "CatalogLoad",
    examples: [
      {
        offers: [
          {
            id: "6eacdc8ea4d77136c0ca25029fa60fe03310139e",
            version: "66bf01e999b34c4c06fee7c469794cbe0b55ce2a",
            name: "Weekend Print Monthly",
            change: "added",
          },
        ],
      },
    ],
  });

const catalogBody = z
  .union([
    z.array(z.record(z.string(), z.unknown())),
    z.object({ offers: z.array(z.record(z.string(), z.unknown())) }),
  ])
  .meta({
    description:
      "Limio's offer export (an array of offers: `id`, `version`, `name`, `data.attributes.price__limio`, " +
      "`term__limio`, `autoRenew__limio`, `switch_date__limio`, the Stripe Product Code in " +
      "`stripe_product_code__limio` on the offer's or its product's attributes), or `{ offers: [...] }` " +
      "in the bridge's flat shape (packages/domain/catalog/demo-catalog.json)",
  });

/**
 * `POST /api/catalog`: load offers into the catalog the writer prices orders from, as
 * `bridge catalog load` does (the same `loadCatalog`). The catalog is reference data an operator
 * loads, not an order: it is written to the store directly, all or nothing (decision 022).
 */
export const loadCatalogRoute: FastifyPluginAsyncZod<{ deps: RouteDeps }> = async (app, { deps }) => {
  app.post(
    "/api/catalog",
    {
      onRequest: app.requireScope("catalog"),
      // The body schema documents the catalog; loadCatalog validates it (once) with each offer named.
      validatorCompiler: bodyCheckedByHandler,
      schema: {
        tags: ["catalog"],
        summary: "Load Limio offers into the catalog (offers versioned as Limio's)",
        description:
          "Validates every offer and loads them all, or none: a 400 names each offer id and field. " +
          "Each offer's version (Limio's, else a hash of its content) is kept for good and becomes its " +
          "current version, so an order naming an older version and the subscriptions that bought it " +
          "keep its prices. A version already loaded with other content is refused. Loading the same " +
          "catalog again changes nothing.",
        security: [{ bearerAuth: [] }],
        body: catalogBody,
        response: { 200: loadAnswer, ...errorResponses(400, 401, 403, 413, 415, 429, 503) },
      },
    },
    async (request) => {
      try {
        return await loadCatalog(deps.store.db, request.body);
      } catch (error) {
        if (!(error instanceof CatalogLoadError)) throw error;
        throw new HttpError(400, "invalid_catalog", error.message, {
          details: error.errors.map((e) => ({
            path: e.path,
            message: e.offerId ? `offer '${e.offerId}': ${e.message}` : e.message,
          })),
        });
      }
    },
  );
};
