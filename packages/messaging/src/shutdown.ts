import type { Logger } from "@bridge/observability";
import closeWithGrace from "close-with-grace";

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
      const code = (await stopInOrder(stoppables, logger)) ? 0 : 1;
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

/**
 * Stops every part in order (the HTTP server first, then consumers, then producers and the
 * store), going on past a part that fails; false when any failed. For an app's close-with-grace.
 */
export async function stopInOrder(stoppables: Stoppable[], logger: Logger): Promise<boolean> {
  let ok = true;
  for (const part of stoppables) {
    try {
      await part.stop();
    } catch (error) {
      ok = false;
      logger.error({ err: error }, "stop failed");
    }
  }
  return ok;
}

/**
 * An app's graceful close, with close-with-grace: on SIGTERM/SIGINT (or an uncaught error) the
 * parts stop in order within 25 s (inside Kubernetes' default 30 s grace); the process exits 0 when
 * every part stopped cleanly, else 1; a second signal exits 1 at once.
 */
export function closeGracefully(stoppables: Stoppable[], logger: Logger, delayMs = 25_000): void {
  closeWithGrace(
    { delay: delayMs, logger: { error: (message: unknown) => logger.error(message) } },
    async ({ signal, err }) => {
      if (err) logger.error({ err }, "stopping after an uncaught error");
      else logger.info({ signal }, "stopping");
      if (!(await stopInOrder(stoppables, logger))) throw new Error("a part failed to stop");
      logger.info("stopped");
    },
  );
}
