// deploy/: the Grafana dashboard and the Prometheus alert rules load (JSON, YAML; the rules also in
// Prometheus' promtool, with their unit tests) and name only metrics the running services export
// on /metrics (their # TYPE lines, so counters that have not counted anything yet count too).
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { freshDatabase, kafkaBrokers } from "@bridge/local-infra/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";

const deploy = path.resolve(import.meta.dirname, "../../deploy");
const dashboard = JSON.parse(readFileSync(path.join(deploy, "grafana/bridge-dashboard.json"), "utf8")) as {
  panels: { title: string; targets: { expr: string }[] }[];
};
const alerts = parse(readFileSync(path.join(deploy, "prometheus/alerts.yml"), "utf8")) as {
  groups: { rules: { alert: string; expr: string }[] }[];
};

const keywords = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "bool",
  "offset",
]);

/** The metric names a PromQL expression reads (functions, keywords, labels and durations dropped). */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, "") // strings
    .replace(/\{[^}]*\}/g, "") // label matchers
    .replace(/\[[^\]]*\]/g, "") // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "") // label lists
    .replace(/\b[a-z_]+\s*\(/g, "("); // function calls
  return [...stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .map((m) => m[0])
    .filter((name) => !keywords.has(name) && !/^\d/.test(name));
}

/** A histogram's series are name_bucket/_sum/_count; /metrics declares the base name. */
const baseName = (name: string, exported: Set<string>) =>
  exported.has(name) ? name : name.replace(/_(bucket|sum|count)$/, "");

const queries = [
  ...dashboard.panels.flatMap((panel) =>
    panel.targets.map((t) => ({ where: `panel "${panel.title}"`, expr: t.expr })),
  ),
  ...alerts.groups.flatMap((group) =>
    group.rules.map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr })),
  ),
];

describe("deploy/prometheus in promtool", () => {
  /** promtool's exit code and output (a failing check or unit test prints why). */
  const promtool = (...args: string[]) => {
    const bin = execFileSync(path.join(deploy, "../scripts/ensure-promtool.sh"), { encoding: "utf8" }).trim();
    const r = spawnSync(bin, args, { cwd: path.join(deploy, "prometheus"), encoding: "utf8" });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  };

  it("loads the alert rules", () => {
    const rules = queries.filter((q) => q.where.startsWith("alert")).length;
    expect(promtool("check", "rules", "alerts.yml")).toMatchObject({
      status: 0,
      output: expect.stringContaining(`SUCCESS: ${rules} rules found`),
    });
  });

  it("passes the rules' unit tests (alerts.test.yml)", () => {
    expect(promtool("test", "rules", "alerts.test.yml")).toMatchObject({
      status: 0,
      output: expect.stringContaining("SUCCESS"),
    });
  });
});

describe("deploy/ dashboard and alert rules", () => {
  let stack: LocalStack;
  const exported = new Set<string>();
  let syncMetrics = "";

  beforeAll(async () => {
    stack = await startLocalStack({
      env: { KAFKA_BROKERS: kafkaBrokers().join(","), DATABASE_URL: await freshDatabase("deploy") },
    });
    for (const url of [
      `${stack.gatewayUrl}/metrics`,
      `${stack.writerOpsUrl}/metrics`,
      `${stack.syncOpsUrl}/metrics`,
    ]) {
      const text = await (await fetch(url)).text();
      for (const [, name] of text.matchAll(/^# TYPE (\S+) /gm)) exported.add(name as string);
      if (url === `${stack.syncOpsUrl}/metrics`) syncMetrics = text;
    }
  }, 150_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it("reads queries from both files", () => {
    expect(dashboard.panels.length).toBeGreaterThan(8);
    expect(alerts.groups[0]?.rules.map((rule) => rule.alert)).toEqual(
      expect.arrayContaining([
        "BridgeDlqNotEmpty",
        "BridgeConsumerLagGrowing",
        "BridgeStripeErrors",
        "BridgeOrdersStuckWaiting",
        "BridgeWebhookToStoreLagHigh",
      ]),
    );
    expect(
      metricNames('sum by (le, route) (rate(stripe_request_duration_seconds_bucket{status="429"}[5m])) > 0'),
    ).toEqual(["stripe_request_duration_seconds_bucket"]);
  });

  it("names only metrics the services export", () => {
    const missing = queries.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((name) => !exported.has(baseName(name, exported)))
        .map((name) => `${where}: ${name}`),
    );
    expect(exported.size).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });

  it("shows the webhook-to-store lag the sync-consumer exports", () => {
    expect(syncMetrics).toMatch(/^# TYPE sync_webhook_to_store_seconds histogram$/m);
    const lag = queries.filter(({ expr }) =>
      metricNames(expr).includes("sync_webhook_to_store_seconds_bucket"),
    );
    expect(lag.map(({ where }) => where)).toEqual([
      'panel "Webhook-to-store lag p50 and p99"',
      'panel "Webhook-to-store lag p50 and p99"',
      "alert BridgeWebhookToStoreLagHigh",
    ]);
  });
});
