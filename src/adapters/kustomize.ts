import { exec } from "./exec.js";

export interface KustomizeBuild {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** `kustomize build` with exec KRM functions enabled (KSOPS), as Argo CD's buildOptions set them. */
export async function kustomizeBuild(dir: string, env: NodeJS.ProcessEnv): Promise<KustomizeBuild> {
  const result = await exec("kustomize", ["build", "--enable-alpha-plugins", "--enable-exec", dir], {
    env,
    check: false,
    timeoutMs: 120_000,
  });
  return { ok: result.exitCode === 0, stdout: result.stdout, stderr: result.stderr };
}
