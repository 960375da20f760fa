// kafkajs on Node 24 printed "TimeoutNegativeWarning: -1796152195109 is a negative number" once per
// process: its request queue schedules a check `throttledUntil - Date.now()` ms ahead when nothing
// is throttled. @bridge/messaging/kafkajs-fix clamps that delay; here a process that talks to the
// broker prints the warning without the fix and stays silent with it.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { kafkaBrokers } from "@bridge/local-infra/testing";
import { describe, expect, it } from "vitest";

const root = new URL("../..", import.meta.url).pathname;

async function stderrOfAdminRoundTrip(withFix: boolean): Promise<string> {
  const script = `
    ${withFix ? 'await import("@bridge/messaging/kafkajs-fix");' : ""}
    const { Kafka, logLevel } = await import("kafkajs");
    const admin = new Kafka({ brokers: ${JSON.stringify(kafkaBrokers())}, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.describeCluster();
    await admin.listTopics();
    await admin.disconnect();
  `;
  const { stderr } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
    cwd: root,
    timeout: 60_000,
  });
  return stderr;
}

describe("kafkajs negative timeout (Node 24)", () => {
  it("warns without the fix and not with it", async () => {
    expect(await stderrOfAdminRoundTrip(false)).toContain("TimeoutNegativeWarning");
    expect(await stderrOfAdminRoundTrip(true)).not.toContain("TimeoutNegativeWarning");
  }, 120_000);
});
