import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { validateConfigText } from "../../../src/config/load.js";
import type { CommandContext } from "../../../src/context.js";
import type { InfraError } from "../../../src/errors.js";
import { EXAMPLE_SOPS_MARKER } from "../../../src/init/cluster-template.js";
import { type InitOptions, initCommand, type Prompter, parseNodeSpec } from "../../../src/init/init.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { silentReporter } from "../../../src/ui/reporter.js";

let dir: string;
let home: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "infra-init-"));
  home = mkdtempSync(join(tmpdir(), "infra-init-home-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

const ctx = (): CommandContext => ({
  cwd: dir,
  env: { HOME: home },
  reporter: silentReporter,
  interactive: false,
});
const flags: InitOptions = {
  name: "lab",
  domain: "lab.example.net",
  cloudflareAccountId: "abcdefabcdefabcdefabcdefabcdef12",
  acmeEmail: "ops@lab.example.net",
  gitRepoUrl: "https://git.example.net/lab.git",
  node: [
    "name=hz-1,role=server,provider=hetzner,region=fsn1,ip=5.75.2.1",
    "name=aws-1,role=agent,provider=aws,region=eu-west-1,ip=52.2.2.2,user=admin,ingress",
  ],
};
const keyFile = () => join(home, ".config", "sops", "age", "lab.txt");
const fail = async (promise: Promise<unknown>) => (await promise.catch((e: unknown) => e)) as InfraError;

describe("infra init from flags", () => {
  it("writes a valid cluster.yaml, an age key outside the repo and .sops.yaml with its public key", async () => {
    const result = await initCommand(ctx(), flags);
    const text = readFileSync(join(dir, "cluster.yaml"), "utf8");
    const { config, problems } = validateConfigText(text, "cluster.yaml");
    expect(problems).toEqual([]);
    expect(config?.nodes.map((n) => [n.name, n.role, n.ingress, n.ssh?.user])).toEqual([
      ["hz-1", "server", false, undefined],
      ["aws-1", "agent", true, "admin"],
    ]);
    expect(config?.backup.bucket.name).toBe("lab-backups");
    expect(text.split("\n")[0]).toBe("# yaml-language-server: $schema=./schema/cluster.schema.json");

    expect(result.data.ageKeyFile).toBe(keyFile());
    expect(statSync(keyFile()).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile(), "utf8");
    const secret = key.split("\n").find((l) => l.startsWith("AGE-SECRET-KEY-")) ?? "";
    expect(key).toContain(`# public key: ${result.data.ageRecipient}`);

    const sops = parse(readFileSync(join(dir, ".sops.yaml"), "utf8"));
    expect(sops.creation_rules).toEqual([
      {
        path_regex: "kubernetes/.*\\.sops\\.ya?ml$",
        encrypted_regex: "^(data|stringData)$",
        age: result.data.ageRecipient,
      },
    ]);
    expect(readFileSync(join(dir, ".sops.yaml"), "utf8")).not.toContain("AGE-SECRET-KEY");

    // The recipient really belongs to the written identity.
    const age = await import("age-encryption");
    const encrypter = new age.Encrypter();
    encrypter.addRecipient(result.data.ageRecipient);
    const decrypter = new age.Decrypter();
    decrypter.addIdentity(secret);
    expect(await decrypter.decrypt(await encrypter.encrypt("secret"), "text")).toBe("secret");
    // Outside a clone of the repository there is no vault or Secret to write, so none is asked for.
    expect(result.data.files.map((f) => [f.path, f.action])).toEqual([
      [keyFile(), "written"],
      ["cluster.yaml", "written"],
      [".sops.yaml", "written"],
      [".envrc", "written"],
    ]);
    expect(result.data.secrets).toEqual([]);
  });

  it("is idempotent, never overwrites without --yes, and reuses the key", async () => {
    const first = await initCommand(ctx(), flags);
    const again = await initCommand(ctx(), flags);
    expect(again.data.files.map((f) => f.action)).toEqual(["reused", "unchanged", "unchanged", "unchanged"]);
    expect(again.data.ageRecipient).toBe(first.data.ageRecipient);

    const before = readFileSync(join(dir, "cluster.yaml"), "utf8");
    const error = await fail(initCommand(ctx(), { ...flags, domain: "other.example.net" }));
    expect(error.code).toBe("INIT_WOULD_OVERWRITE");
    expect(error.exitCode).toBe(2);
    expect(error.hint).toMatch(/--yes/);
    expect(readFileSync(join(dir, "cluster.yaml"), "utf8")).toBe(before);

    const replaced = await initCommand(ctx(), { ...flags, domain: "other.example.net", yes: true });
    expect(replaced.data.files.map((f) => f.action)).toEqual([
      "reused",
      "replaced",
      "unchanged",
      "unchanged",
    ]);
    expect(readFileSync(join(dir, "cluster.yaml"), "utf8")).toContain("domain: other.example.net");
    expect(replaced.data.ageRecipient).toBe(first.data.ageRecipient);
  });

  it("replaces the committed example .sops.yaml but asks before replacing any other", async () => {
    writeFileSync(join(dir, ".sops.yaml"), `${EXAMPLE_SOPS_MARKER}\ncreation_rules: []\n`);
    const result = await initCommand(ctx(), flags);
    expect(result.data.files.find((f) => f.path === ".sops.yaml")?.action).toBe("replaced");

    rmSync(join(dir, "cluster.yaml"));
    writeFileSync(join(dir, ".sops.yaml"), "creation_rules: []\n");
    const error = await fail(initCommand(ctx(), flags));
    expect(error.code).toBe("INIT_WOULD_OVERWRITE");
    expect(error.location?.file).toBe(".sops.yaml");
    expect(existsSync(join(dir, "cluster.yaml"))).toBe(false);
  });

  it("the committed .sops.yaml is the marked example", () => {
    const text = readFileSync(join(PACKAGE_ROOT, ".sops.yaml"), "utf8");
    expect(text.startsWith(EXAMPLE_SOPS_MARKER)).toBe(true);
    expect(parse(text).creation_rules[0].age).toMatch(/^age1[0-9a-z]{58}$/);
  });

  it("names the missing flags when it cannot ask", async () => {
    const error = await fail(initCommand(ctx(), { name: "lab" }));
    expect(error.code).toBe("INIT_MISSING_FLAGS");
    expect(error.message).toBe(
      "not interactive, and --domain, --cloudflare-account-id, --acme-email, --git-repo-url, --node are missing",
    );
  });

  it("validates before writing anything: a bad answer leaves no file and no key", async () => {
    const error = await fail(
      initCommand(ctx(), {
        ...flags,
        node: ["name=hz-1,role=server,provider=hetzner,region=fsn1,ip=10.0.0.1,ingress"],
      }),
    );
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.details[0]).toMatchObject({
      code: "PUBLIC_IP_NOT_PUBLIC",
      location: { path: "nodes[0].publicIPv4" },
    });
    expect(existsSync(join(dir, "cluster.yaml"))).toBe(false);
    expect(existsSync(keyFile())).toBe(false);
  });

  it("refuses a key path inside the repository that Git would commit", async () => {
    execFileSync("git", ["init", "-q", dir]);
    const error = await fail(initCommand(ctx(), { ...flags, ageKeyFile: "lab-key.txt" }));
    expect(error.code).toBe("AGE_KEY_NOT_IGNORED");
    expect(existsSync(join(dir, "lab-key.txt"))).toBe(false);
    writeFileSync(join(dir, ".gitignore"), "*.agekey\n");
    const ok = await initCommand(ctx(), { ...flags, ageKeyFile: "lab.agekey" });
    expect(ok.data.ageKeyFile).toBe(join(dir, "lab.agekey"));
  });

  it("parses --node specs and rejects unknown fields", () => {
    expect(
      parseNodeSpec("name=a,role=agent,provider=vultr,region=ams,ip=45.1.1.1,tailscale-ip=100.64.1.1"),
    ).toEqual({
      name: "a",
      role: "agent",
      provider: "vultr",
      region: "ams",
      publicIPv4: "45.1.1.1",
      tailscaleIPv4: "100.64.1.1",
      ingress: false,
    });
    expect(() => parseNodeSpec("name=a,colour=blue")).toThrow(/unknown field "colour"/);
    expect(() => parseNodeSpec("name=a,role=agent")).toThrow(/missing provider, region, ip/);
  });
});

describe("infra init interactively", () => {
  const script = (answers: string[]): Prompter & { questions: string[]; told: string[] } => {
    const questions: string[] = [];
    const told: string[] = [];
    return {
      questions,
      told,
      tell: async (message) => {
        told.push(message);
      },
      ask: async (question) => {
        questions.push(question);
        const answer = answers.shift();
        if (answer === undefined) throw new Error(`unexpected question: ${question}`);
        return answer;
      },
      secret: async (question) => {
        throw new Error(`no secret is asked outside a repository clone: ${question}`);
      },
      close: () => {},
    };
  };

  it("asks for what the flags do not give, with defaults", async () => {
    const io = script([
      "", // name -> prod
      "prod.example.com",
      "0123456789abcdef0123456789abcdef",
      "", // e-mail -> ops@prod.example.com
      "", // staging
      "https://git.example.com/prod.git",
      "", // main
      "", // k3s default
      "", // bucket -> prod-backups
      "server",
      "hetzner",
      "nbg1",
      "", // name -> hetzner-nbg1-1
      "5.75.3.3",
      "y",
      "n",
    ]);
    await initCommand(ctx(), {}, io);
    const { config, problems } = validateConfigText(
      readFileSync(join(dir, "cluster.yaml"), "utf8"),
      "cluster.yaml",
    );
    expect(problems).toEqual([]);
    expect(config).toMatchObject({
      name: "prod",
      domain: "prod.example.com",
      acme: { email: "ops@prod.example.com", environment: "staging" },
      backup: { bucket: { name: "prod-backups" } },
      nodes: [
        {
          name: "hetzner-nbg1-1",
          role: "server",
          provider: "hetzner",
          region: "nbg1",
          publicIPv4: "5.75.3.3",
          ingress: true,
        },
      ],
    });
    expect(io.questions[0]).toBe("Cluster name (a DNS label)");
  });

  it("asks again until an answer is valid, saying why", async () => {
    const io = script([
      "Lab_1", // not a DNS label
      "lab",
      "lab.example.com",
      "xyz", // not an account id
      "0123456789abcdef0123456789abcdef",
      "",
      "prod", // not staging|production
      "production",
      "https://git.example.com/lab.git",
      "",
      "v1.36.1+k3s1", // too old
      "",
      "",
      "servr", // not a role
      "server",
      "hetzner",
      "fsn1",
      "",
      "10.0.0.5", // private
      "5.75.4.4",
      "maybe",
      "y",
      "n",
    ]);
    await initCommand(ctx(), {}, io);
    expect(io.told).toEqual([
      expect.stringMatching(/^"Lab_1" is not a valid cluster name .* — use lowercase letters/),
      expect.stringMatching(/^"xyz" is not a Cloudflare account id/),
      "use one of: staging, production",
      expect.stringMatching(/^K3s v1\.36\.1\+k3s1 is older than v1\.36\.2\+k3s1/),
      "use one of: server, agent",
      expect.stringMatching(/^"10\.0\.0\.5" is not a public IPv4 address: private/),
      "answer y or n",
    ]);
    const { config } = validateConfigText(readFileSync(join(dir, "cluster.yaml"), "utf8"), "cluster.yaml");
    expect(config).toMatchObject({
      name: "lab",
      acme: { environment: "production" },
      k3s: { version: "v1.36.3+k3s1" },
    });
  });

  it("asks before overwriting, and keeps the file on no", async () => {
    writeFileSync(join(dir, "cluster.yaml"), "# mine\n");
    const io = script(["n"]);
    const error = await fail(initCommand(ctx(), flags, io));
    expect(error.code).toBe("INIT_DECLINED");
    expect(io.questions).toEqual(["cluster.yaml exists and differs. Replace it? [y/N]"]);
    expect(readFileSync(join(dir, "cluster.yaml"), "utf8")).toBe("# mine\n");
    expect(existsSync(keyFile())).toBe(false);
  });

  it("a re-run without cluster flags keeps a hand-edited cluster.yaml and asks nothing about it", async () => {
    const first = await initCommand(ctx(), flags);
    const edited = `${readFileSync(join(dir, "cluster.yaml"), "utf8")}# a comment of the user's\n`;
    writeFileSync(join(dir, "cluster.yaml"), edited);
    const io = script([]);
    const again = await initCommand({ ...ctx(), interactive: true }, {}, io);
    expect(io.questions).toEqual([]);
    expect(again.data.files.map((f) => f.action)).toEqual(["reused", "unchanged", "unchanged", "unchanged"]);
    expect(again.data.ageRecipient).toBe(first.data.ageRecipient);
    expect(readFileSync(join(dir, "cluster.yaml"), "utf8")).toBe(edited);

    writeFileSync(join(dir, "cluster.yaml"), "name: [\n");
    const broken = await fail(initCommand(ctx(), {}));
    expect(broken.code).toBe("CONFIG_YAML_SYNTAX");
    expect(broken.exitCode).toBe(2);
  });
});
