import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, parseConfig, splitList } from "./index.ts";

const schema = z.object({ PORT: z.coerce.number().int().min(1), SECRET: z.string().min(8) });

describe("parseConfig", () => {
  it("returns typed values for a valid environment", () => {
    expect(parseConfig("demo", schema, { PORT: "8080", SECRET: "abcdefghij" })).toEqual({
      PORT: 8080,
      SECRET: "abcdefghij",
    });
  });

  it("names every bad variable and never echoes values", () => {
    try {
      parseConfig("demo", schema, { PORT: "zero", SECRET: "short-x" });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain("PORT");
      expect(message).toContain("SECRET");
      expect(message).not.toContain("short-x");
    }
  });
});

describe("splitList", () => {
  it("trims and drops empty entries", () => {
    expect(splitList(" a:1, b:2 ,,")).toEqual(["a:1", "b:2"]);
  });
});
