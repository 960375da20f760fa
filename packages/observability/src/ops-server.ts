import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Metrics } from "./metrics.ts";

export type OpsServer = { port: number; url: string; close(): Promise<void> };

export type ReadinessCheck = () => Promise<Record<string, boolean>>;

/**
 * The small HTTP server every background service exposes: `/healthz` (process up), `/readyz`
 * (each dependency check, 503 when one fails) and `/metrics` (Prometheus text). It listens on
 * loopback unless `host` says otherwise: these routes are for the operator's scraper and probes,
 * not the internet.
 */
export async function startOpsServer(options: {
  port: number;
  host?: string;
  metrics: Metrics;
  readiness: ReadinessCheck;
}): Promise<OpsServer> {
  const server = http.createServer(async (req, res) => {
    try {
      if (req.url === "/healthz") return send(res, 200, { status: "ok" });
      if (req.url === "/readyz") {
        const checks = await options.readiness();
        const ready = Object.values(checks).every(Boolean);
        return send(res, ready ? 200 : 503, { status: ready ? "ready" : "not_ready", checks });
      }
      if (req.url === "/metrics") {
        // Rendered before the head is written: a collector that fails still gets a 500 answer.
        const body = await options.metrics.render();
        res.writeHead(200, { "content-type": options.metrics.contentType });
        return res.end(body);
      }
      return send(res, 404, { error: { code: "not_found", message: `No route ${req.method} ${req.url}` } });
    } catch (error) {
      return send(res, 500, { error: { code: "internal", message: (error as Error).message } });
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host ?? "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function send(res: http.ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
