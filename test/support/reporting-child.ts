import { spawn } from "node:child_process";

/**
 * A node process that prints "ready" once set up, starts on a line on its stdin (`go()`), and
 * reports on stdout before exiting: how the shared-budget test and benchmark run their replicas,
 * so that all of them start competing at the same moment.
 */
export function startReportingChild(file: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [file], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d) => {
    stderr += d.toString();
  });
  const output = new Promise<string>((resolve, reject) =>
    child.on("exit", (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`${file} exited ${code}: ${stderr.slice(-2000)}`)),
    ),
  );
  return {
    child,
    output,
    ready: () => stdout.includes("ready\n"),
    go: () => child.stdin.end("go\n"),
  };
}
