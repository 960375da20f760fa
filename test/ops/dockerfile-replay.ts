// Replays a single-stage Dockerfile without a Docker engine: the files each COPY copies (from the
// build context as a clean clone has it, minus .dockerignore) into a directory standing for
// WORKDIR, then each RUN there with the image's ENV and ARGs, and returns the image's CMD and env.
import { execFileSync, execSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";

type Instruction = { keyword: string; args: string };

/** The instructions of a Dockerfile: comments dropped, `\` continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let pending = "";
  for (const line of text.split("\n")) {
    if (!pending && (line.trim() === "" || line.trimStart().startsWith("#"))) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(pending + line);
    pending = "";
  }
  return logical.map((line) => {
    const [keyword = ""] = line.trim().split(/\s+/);
    return { keyword: keyword.toUpperCase(), args: line.trim().slice(keyword.length).trim() };
  });
}

/** `.dockerignore` patterns: a path is left out when it or one of its folders matches one. */
function dockerignore(contextDir: string): (file: string) => boolean {
  let patterns: string[] = [];
  try {
    patterns = readFileSync(path.join(contextDir, ".dockerignore"), "utf8")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith("#"));
  } catch {
    // no .dockerignore: everything goes in
  }
  return (file) => {
    const parts = file.split("/");
    return parts.some((_, i) => {
      const prefix = parts.slice(0, i + 1).join("/");
      return patterns.some((pattern) => path.matchesGlob(prefix, pattern));
    });
  };
}

/** The build context as a fresh clone has it: tracked and new files, never git-ignored ones. */
function contextFiles(contextDir: string): string[] {
  const ignored = dockerignore(contextDir);
  return execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], {
    cwd: contextDir,
    maxBuffer: 64 * 1024 * 1024,
  })
    .toString()
    .split("\0")
    .filter((file) => file && !ignored(file));
}

function copyInto(contextDir: string, file: string, target: string) {
  mkdirSync(path.dirname(target), { recursive: true });
  copyFileSync(path.join(contextDir, file), target);
}

export type Replayed = { cmd: string[]; env: Record<string, string>; user?: string };

/**
 * Replays `dockerfile` from `contextDir` into `imageDir` (WORKDIR). Throws, with the command's
 * output, when a COPY source is missing or a RUN fails, as `docker build` would stop there.
 */
export function replayDockerfile(
  dockerfile: string,
  contextDir: string,
  imageDir: string,
  buildArgs: Record<string, string> = {},
): Replayed {
  const env: Record<string, string> = {};
  let cmd: string[] = [];
  let user: string | undefined;
  let stages = 0;
  // ${NAME} and $NAME in ENV, ARG, COPY and WORKDIR take the ENV and ARG values set so far.
  const substitute = (text: string) =>
    text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced, bare) => env[braced ?? bare] ?? "");
  for (const instruction of parseDockerfile(dockerfile)) {
    const { keyword } = instruction;
    const args = ["RUN", "CMD"].includes(keyword) ? instruction.args : substitute(instruction.args);
    switch (keyword) {
      case "FROM":
        stages += 1;
        if (stages > 1) throw new Error("only single-stage Dockerfiles are replayed");
        break;
      case "WORKDIR":
        break; // imageDir stands for it; later paths are relative to it
      case "ENV":
        // key=value pairs; a value may be double-quoted to hold spaces, as Docker reads it.
        for (const [, key = "", quoted, bare] of args.matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))/g)) {
          env[key] = quoted === undefined ? (bare ?? "") : quoted.replace(/\\(.)/g, "$1");
        }
        break;
      case "ARG": {
        const [key = "", ...fallback] = args.split("=");
        env[key] = buildArgs[key] ?? fallback.join("=");
        break;
      }
      case "COPY": {
        if (args.startsWith("--")) throw new Error(`COPY options are not replayed: ${args}`);
        const words = args.split(/\s+/);
        const dest = words.pop() as string;
        for (const source of words) {
          if (source === "." && (dest === "." || dest === "./")) {
            for (const file of contextFiles(contextDir))
              copyInto(contextDir, file, path.join(imageDir, file));
          } else {
            const target = dest.endsWith("/")
              ? path.join(imageDir, dest, path.basename(source))
              : path.join(imageDir, dest);
            copyInto(contextDir, source, target);
          }
        }
        break;
      }
      case "RUN":
        execSync(args, {
          cwd: imageDir,
          shell: "/bin/sh",
          env: { ...process.env, ...env },
          stdio: ["ignore", "pipe", "pipe"],
          maxBuffer: 64 * 1024 * 1024,
        });
        break;
      case "USER":
        user = args;
        break;
      case "CMD":
        cmd = JSON.parse(args) as string[];
        break;
      default:
        throw new Error(`Dockerfile instruction ${keyword} is not replayed`);
    }
  }
  return { cmd, env, ...(user ? { user } : {}) };
}
