/**
 * TEST ONLY. `WRITER_CRASH_AT=<step>:<before-record|after-record>` makes the writer SIGKILL
 * itself at that point of every order, so the kill tests can prove that a restarted writer
 * resumes from the recorded steps. `before-record` = the Stripe call succeeded but the step is
 * not yet in OrderStep; `after-record` = recorded, nothing after it done. Never set in production.
 */
export type CrashPoint = { step: string; when: "before-record" | "after-record" };

export function parseCrashPoint(value: string | undefined): CrashPoint | undefined {
  if (!value) return undefined;
  const at = value.lastIndexOf(":");
  return { step: value.slice(0, at), when: value.slice(at + 1) as CrashPoint["when"] };
}

export type CrashHook = (step: string, when: CrashPoint["when"]) => void;

export function crashHookFor(point: CrashPoint | undefined): CrashHook | undefined {
  if (!point) return undefined;
  return (step, when) => {
    if (step === point.step && when === point.when) process.kill(process.pid, "SIGKILL");
  };
}
