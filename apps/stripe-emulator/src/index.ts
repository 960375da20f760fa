import { buildEmulator, type EmulatorHandle } from "./app.ts";
import { defaultConfig, type EmulatorConfig } from "./config.ts";
import type { State } from "./state.ts";

export { buildEmulator, type EmulatorHandle } from "./app.ts";
export { defaultConfig, type EmulatorConfig, loadConfig } from "./config.ts";
export { signPayload } from "./events/webhooks.ts";
export { API_VERSION } from "./http/version.ts";

export type RunningEmulator = {
  url: string;
  port: number;
  host: string;
  state: State;
  handle: EmulatorHandle;
  /** Wait for every pending webhook delivery (including retries). */
  flushWebhooks(): Promise<void>;
  stop(): Promise<void>;
};

/** Start the emulator in-process (port 0 = a free port). For other packages' tests. */
export async function startEmulator(overrides: Partial<EmulatorConfig> = {}): Promise<RunningEmulator> {
  const config = defaultConfig({ port: 0, logLevel: "silent", ...overrides });
  const handle = buildEmulator(config);
  await handle.app.listen({ port: config.port, host: config.host });
  const address = handle.app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  return {
    url: `http://${config.host}:${port}`,
    port,
    host: config.host,
    state: handle.state,
    handle,
    flushWebhooks: () => handle.emulator.webhooks.flush(),
    stop: async () => {
      await handle.app.close();
    },
  };
}
