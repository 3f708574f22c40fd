/**
 * src/lib/cron.ts and src/lib/go-duration.ts against the real parsers: a small Go program built here
 * with the go-cron version the pinned Velero (src/check/schemas/sources.yaml) requires, and Go's own
 * time.ParseDuration. Every spec of the table must be accepted or rejected alike; cron errors read as
 * go-cron's (durations are explained in plain words, not Go's).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exec } from "../../src/adapters/exec.js";
import { loadSchemaSources } from "../../src/check/schema-cache.js";
import { checkCronSpec } from "../../src/lib/cron.js";
import { parseGoDuration } from "../../src/lib/go-duration.js";

const SPECS = [
  "0 3 * * *",
  "0 * * * *",
  "*/15 * * * *",
  "*/60 * * * *",
  "0 */24 * * *",
  "0 22-2 * * *",
  "0 0 1,15 * *",
  "0 0 * * 7",
  "0 0 * * 0-7",
  "0 0 * * sun-sat",
  "0 0 * JAN-MAR ?",
  "0 0 * nov-feb *",
  "0 0 0 * *",
  "0 0 32 * *",
  "60 * * * *",
  "0 0 3 * * *",
  "0 3 * *",
  "",
  "   ",
  "0 0 L * *",
  "0 0 15W * *",
  "0 0 * * FRI#3",
  "H 0 * * *",
  "0 3 * * mon-fri-sat",
  "a * * * *",
  "1-2-3 * * * *",
  "1/2/3 * * * *",
  "5/0 * * * *",
  "+5 * * * *",
  "-5 * * * *",
  "0,,5 * * * *",
  ", * * * *",
  "*-5 * * * *",
  "@daily",
  "@midnight",
  "@yearly",
  "@annually",
  "@weekly",
  "@monthly",
  "@hourly",
  "@manual",
  "@reboot",
  "@fortnightly",
  "@every 1h30m",
  "@every 30d",
  "@every 500ms",
  "@every 1s",
  "@daily ",
  "TZ=Europe/Berlin 0 3 * * *",
  "CRON_TZ=UTC @hourly",
  'TZ="America/New_York" 0 3 * * *',
  "TZ=Mars/Olympus 0 3 * * *",
  "TZ=UTC",
  "TZ=Europe/Ber'lin 0 3 * * *",
  "TZ= 0 3 * * *",
  "99999999999999999999 * * * *",
  "  0 3 * * *",
  "0\t3\t*\t*\t*",
];

const DURATIONS = [
  "720h0m0s",
  "168h",
  "1h30m",
  "1.5h",
  "0",
  "-2m",
  "+3s",
  "300ms",
  "2µs",
  "2μs",
  "2us",
  ".5s",
  "5.s",
  "30d",
  "720",
  "",
  "1 h",
  "h",
  ".s",
  "1w",
  "9999999999999999999h",
  "2562047h47m16.854775807s",
  "2562047h47m16.854775808s",
  "-2562047h47m16.854775808s",
];

const GO_PROGRAM = `package main

import (
	"encoding/json"
	"os"
	"time"

	cron "github.com/netresearch/go-cron"
)

type verdict struct {
	Ok    bool   \`json:"ok"\`
	Error string \`json:"error"\`
}

func main() {
	var input struct {
		Specs     []string \`json:"specs"\`
		Durations []string \`json:"durations"\`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&input); err != nil {
		panic(err)
	}
	out := map[string][]verdict{}
	for _, spec := range input.Specs {
		_, err := cron.ParseStandard(spec)
		v := verdict{Ok: err == nil}
		if err != nil {
			v.Error = err.Error()
		}
		out["specs"] = append(out["specs"], v)
	}
	for _, text := range input.Durations {
		_, err := time.ParseDuration(text)
		v := verdict{Ok: err == nil}
		if err != nil {
			v.Error = err.Error()
		}
		out["durations"] = append(out["durations"], v)
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}
`;

let dir = "";
let upstream: { specs: { ok: boolean; error: string }[]; durations: { ok: boolean; error: string }[] };

/** The go-cron version the pinned Velero module requires (its go.mod). */
async function goCronVersion(): Promise<string> {
  const velero = (await loadSchemaSources()).crds.find((c) => c.module.endsWith("/velero"));
  if (!velero) throw new Error("no Velero module in src/check/schemas/sources.yaml");
  const download = await exec("go", ["mod", "download", "-json", `${velero.module}@${velero.version}`], {
    cwd: tmpdir(),
    env: { ...process.env, GOFLAGS: "-mod=mod" },
  });
  const goMod = await readFile(join((JSON.parse(download.stdout) as { Dir: string }).Dir, "go.mod"), "utf8");
  const version = /github\.com\/netresearch\/go-cron (v\S+)/.exec(goMod)?.[1];
  if (!version) throw new Error("the pinned Velero does not require github.com/netresearch/go-cron");
  return version;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cron-upstream-"));
  const env = { ...process.env, GOFLAGS: "-mod=mod", GOWORK: "off" };
  await writeFile(
    join(dir, "go.mod"),
    `module crosscheck\n\ngo 1.25\n\nrequire github.com/netresearch/go-cron ${await goCronVersion()}\n`,
  );
  await writeFile(join(dir, "main.go"), GO_PROGRAM);
  await exec("go", ["mod", "tidy"], { cwd: dir, env });
  await exec("go", ["build", "-o", "crosscheck", "."], { cwd: dir, env, timeoutMs: 240_000 });
  const run = await exec(join(dir, "crosscheck"), [], {
    input: JSON.stringify({ specs: SPECS, durations: DURATIONS }),
  });
  upstream = JSON.parse(run.stdout) as typeof upstream;
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("checkCronSpec agrees with Velero's cron parser (go-cron ParseStandard)", () => {
  SPECS.forEach((spec, i) => {
    it(JSON.stringify(spec), () => {
      const go = upstream.specs[i];
      const ours = checkCronSpec(spec);
      expect(ours.ok).toBe(go?.ok);
      if (!ours.ok && go && !go.ok && !go.error.startsWith("failed to parse duration")) {
        expect(ours.error).toBe(go.error);
      }
    });
  });
});

describe("parseGoDuration agrees with Go's time.ParseDuration", () => {
  DURATIONS.forEach((text, i) => {
    it(JSON.stringify(text), () => {
      const go = upstream.durations[i];
      expect(parseGoDuration(text).ok).toBe(go?.ok);
    });
  });
});
