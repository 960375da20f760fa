import type { Logger } from "@bridge/observability";

export type Stoppable = { stop(): Promise<void> };

export type ShutdownOptions = {
  signals?: NodeJS.Signals[];
  /** Give up and exit 1 if stopping takes longer (default 25 s, inside Kubernetes' default 30 s grace). */
  timeoutMs?: number;
  exit?: (code: number) => void;
};

/**
 * On SIGTERM/SIGINT stops every part in order (e.g. the HTTP server first, then consumers,
 * then producers), then exits 0; exits 1 if a stop fails or takes longer than `timeoutMs`.
 * A second signal while stopping exits 1 at once. Returns a function that removes the hooks.
 */
export function installShutdown(
  stoppables: Stoppable[],
  logger: Logger,
  options: ShutdownOptions = {},
): () => void {
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let shuttingDown = false;

  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      logger.warn({ signal }, "second signal while stopping; exiting now");
      exit(1);
      return;
    }
    shuttingDown = true;
    logger.info({ signal }, "stopping");
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: options.timeoutMs ?? 25_000 }, "stop timed out; exiting");
      exit(1);
    }, options.timeoutMs ?? 25_000);
    timer.unref();
    void (async () => {
      let code = 0;
      for (const part of stoppables) {
        try {
          await part.stop();
        } catch (error) {
          code = 1;
          logger.error({ err: error }, "stop failed");
        }
      }
      clearTimeout(timer);
      logger.info({ code }, "stopped");
      exit(code);
    })();
  };

  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
