import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { exec } from "../adapters/exec.js";
import { InfraError } from "../errors.js";

/** Finds a Python interpreter of at least `minimum` ("3.12"): PATH first, then pyenv's versions. */
export async function findPython(minimum: string, env: NodeJS.ProcessEnv): Promise<string> {
  const [wantMajor = 3, wantMinor = 0] = minimum.split(".").map(Number);
  const candidates = ["python3.14", "python3.13", "python3.12", "python3"];
  const pyenv = join(env.PYENV_ROOT ?? join(homedir(), ".pyenv"), "versions");
  if (existsSync(pyenv)) {
    for (const dir of readdirSync(pyenv).sort().reverse())
      candidates.push(join(pyenv, dir, "bin", "python3"));
  }
  const seen: string[] = [];
  for (const candidate of candidates) {
    const probe = await exec(candidate, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], {
      env,
      check: false,
    }).catch(() => undefined);
    if (probe?.exitCode !== 0) continue;
    const [major = 0, minor = 0] = probe.stdout.trim().split(".").map(Number);
    seen.push(`${candidate} (${probe.stdout.trim()})`);
    if (major > wantMajor || (major === wantMajor && minor >= wantMinor)) return candidate;
  }
  throw new InfraError("PYTHON_TOO_OLD", `no Python >= ${minimum} found (ansible-core needs it)`, {
    kind: "preflight",
    hint: `install Python ${minimum} or newer (apt, brew, or pyenv); found: ${seen.join(", ") || "none"}`,
  });
}
