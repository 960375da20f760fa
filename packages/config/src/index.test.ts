import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  ConfigError,
  env,
  exampleSecretsIn,
  parseConfig,
  publishedExampleSecrets,
  splitList,
} from "./index.ts";

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

describe("published example secrets", () => {
  it("names the secrets this repository prints, and finds them among values", () => {
    expect(publishedExampleSecrets).toContain("local-dev-key-change-me");
    expect(exampleSecretsIn(["mine-0123456789abcdef", "local-dev-key-change-me"])).toEqual([
      "local-dev-key-change-me",
    ]);
    expect(exampleSecretsIn(["mine-0123456789abcdef"])).toEqual([]);
  });
});

describe("ops host", () => {
  it("defaults to loopback", () => {
    expect(env.opsHost.parse(undefined)).toBe("127.0.0.1");
    expect(env.opsHost.parse("0.0.0.0")).toBe("0.0.0.0");
  });
});
