import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { gatewayNodeFlags, nodeFlagsOf, serviceNodeFlags } from "./service-node-flags.ts";

const repoFile = (name: string) => readFileSync(path.resolve(import.meta.dirname, "../../..", name), "utf8");

describe("serviceNodeFlags", () => {
  it("are the image's NODE_OPTIONS, so the container runs the services as the local run and tests do", () => {
    const options = /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(repoFile("Dockerfile"))?.[1];
    expect(options?.split(" ")).toEqual([...serviceNodeFlags]);
  });

  it("the gateway's flags are its NODE_OPTIONS in docker-compose (the image's default is the others')", () => {
    const gateway =
      /^ {2}ingest-gateway:\n((?: {4}.*\n|\n)*)/m.exec(repoFile("docker-compose.yml"))?.[1] ?? "";
    const options = /^ {6}NODE_OPTIONS: "([^"]*)"/m.exec(gateway)?.[1];
    expect(options?.split(" ")).toEqual([...gatewayNodeFlags]);
    expect(nodeFlagsOf("ingest-gateway")).toEqual(gatewayNodeFlags);
    expect(nodeFlagsOf("sync-consumer")).toEqual(serviceNodeFlags);
    expect(nodeFlagsOf("stripe-emulator")).toEqual([]);
  });

  it("bound the old space, the part of the heap that grew between collections", () => {
    for (const flags of [serviceNodeFlags, gatewayNodeFlags])
      expect(flags.some((flag) => /^--max-old-space-size=\d+$/.test(flag))).toBe(true);
  });
});
