import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { serviceNodeFlags } from "./service-node-flags.ts";

const dockerfile = readFileSync(path.resolve(import.meta.dirname, "../../../Dockerfile"), "utf8");

describe("serviceNodeFlags", () => {
  it("are the image's NODE_OPTIONS, so the container runs the services as the local run and tests do", () => {
    const options = /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(dockerfile)?.[1];
    expect(options?.split(" ")).toEqual([...serviceNodeFlags]);
  });

  it("bound the old space, the part of the heap that grew between collections", () => {
    expect(serviceNodeFlags.some((flag) => /^--max-old-space-size=\d+$/.test(flag))).toBe(true);
  });
});
