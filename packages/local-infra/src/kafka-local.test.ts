import { describe, expect, it } from "vitest";
import { newClusterId } from "./kafka-local.ts";

describe("newClusterId", () => {
  it("is 22 base64url characters and never starts with '-' (Kafka would parse it as an option)", () => {
    for (let i = 0; i < 5000; i += 1) {
      const id = newClusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    }
  });
});
