import { buildEmulator } from "./app.ts";
import { loadConfig } from "./config.ts";

const config = loadConfig();
const { app, emulator } = buildEmulator(config);
await app.listen({ port: config.port, host: config.host });
const address = app.server.address();
const port = typeof address === "object" && address ? address.port : config.port;
emulator.logger.info(
  { url: `http://${config.host}:${port}`, port, rateLimitPerSecond: config.rateLimitPerSecond },
  "stripe-emulator listening",
);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  emulator.logger.info({ signal }, "stripe-emulator stopping");
  await app.close();
  process.exit(0);
};
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGINT", () => void stop("SIGINT"));
