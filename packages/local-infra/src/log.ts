// One place for the harness's console output: stderr, so stdout stays machine-readable (cli.ts).

export type Logger = (message: string) => void;

export const log: Logger = (message) => {
  process.stderr.write(`[local-infra] ${message}\n`);
};

/** A connection URL with its password replaced, safe to print. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<unparseable url>";
  }
}
