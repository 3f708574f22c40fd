/**
 * The firewall and ServiceLB per ingress mode, rendered by the real Ansible (the role's defaults,
 * vars and preflight, the committed group-vars wiring) from what `infra configure` renders for a
 * cluster.yaml in each mode. No VM: the hosts tier (issue 16's) runs the role on real hosts; here
 * the decision is tested — which public HTTP(S) rules a run leaves present and absent, on which
 * interface, and which nodes ServiceLB may bind 80/443 on.
 */
import { readFileSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { exec } from "../../src/adapters/exec.js";
import { validateConfigText } from "../../src/config/load.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { RENDERED_FILES, renderAll } from "../../src/render/render.js";
import { ANSIBLE_DIR, ansibleTestEnv, INSTALL_HINT } from "../unit/ansible/fixture-inventory.js";

const FIXTURES = join(PACKAGE_ROOT, "test", "fixtures", "config");

interface Decision {
  present: string[];
  absent: string[];
  interface: string;
  defaultInterface: string;
  enablelb: string;
}

let work = "";
let env: NodeJS.ProcessEnv = {};

/** The playbook: the role's inputs checked by its own preflight, then what it decides, per host. */
function playbook(out: string): string {
  return stringify([
    {
      name: "Render the firewall's public HTTP(S) decision",
      hosts: "k3s_cluster",
      gather_facts: false,
      connection: "local",
      tasks: [
        {
          name: "Read the facts the role reads (this machine's)",
          "ansible.builtin.setup": { gather_subset: ["!all", "!min", "distribution", "network"] },
        },
        {
          name: "Load the firewall role",
          "ansible.builtin.include_role": { name: "firewall", tasks_from: "preflight.yml", public: true },
        },
        {
          name: "Write the decision",
          "ansible.builtin.copy": {
            dest: `${out}/{{ inventory_hostname }}.json`,
            mode: "0600",
            content: `{{ {'present': firewall_ufw_public_http.present, 'absent': firewall_ufw_public_http.absent,
              'interface': firewall_public_interface, 'defaultInterface': ansible_facts['default_ipv4']['interface'] | default(''),
              'enablelb': node_k3s_labels['svccontroller.k3s.cattle.io/enablelb']} | to_json }}`,
          },
        },
      ],
    },
  ]);
}

/** Renders the fixture like `infra configure`, runs the playbook on its inventory, returns per host. */
async function decide(
  fixture: string,
  extraVars: Record<string, unknown> = {},
): Promise<{ code: number; output: string; hosts: Record<string, Decision> }> {
  const dir = await mkdtemp(join(work, "case-"));
  const { config, problems } = validateConfigText(readFileSync(fixture, "utf8"), fixture);
  if (!config) throw new Error(JSON.stringify(problems));
  const inventory = join(dir, "inventory");
  for (const file of renderAll(config, "cluster.yaml")) {
    if (!file.path.startsWith("ansible/inventory/")) continue;
    const target = join(dir, file.path.replace("ansible/", ""));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.content);
  }
  const groupVars = join(ANSIBLE_DIR, "inventory", "group_vars");
  for (const entry of await readdir(groupVars, { recursive: true })) {
    const name = String(entry);
    if (!name.endsWith(".yml") || name.endsWith("cluster.yml") || name.includes("vault")) continue;
    await cp(join(groupVars, name), join(inventory, "group_vars", name));
  }
  const out = join(dir, "out");
  await mkdir(out);
  await writeFile(join(dir, "play.yml"), playbook(out));
  await writeFile(join(dir, "extra.json"), JSON.stringify(extraVars));
  const hostsFile = join(inventory, RENDERED_FILES.inventory.split("/").pop() ?? "hosts.yml");
  const result = await exec(
    "ansible-playbook",
    ["-i", hostsFile, "-e", `@${join(dir, "extra.json")}`, join(dir, "play.yml")],
    { cwd: ANSIBLE_DIR, env, check: false },
  ).catch((error: unknown) => {
    throw new Error(`ansible-playbook could not run (${String(error)}); ${INSTALL_HINT}`);
  });
  const hosts: Record<string, Decision> = {};
  for (const file of await readdir(out)) {
    hosts[file.replace(/\.json$/, "")] = JSON.parse(await readFile(join(out, file), "utf8")) as Decision;
  }
  return { code: result.exitCode, output: `${result.stdout}\n${result.stderr}`, hosts };
}

// One rule for both ports (ufw's multiport form): each rule changed is a ufw run of seconds.
const allow = `ufw allow 80,443/tcp comment 'ingress'`;
const deny = (iface: string) => `ufw deny in on ${iface} to any port 80,443 proto tcp comment 'tunnel mode'`;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "infra-firewall-ingress-"));
  env = await ansibleTestEnv(work);
}, 60_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("public HTTP(S) per ingress mode, as the firewall role decides it", () => {
  it("tunnel: 80/443 denied on the public interface of every node, no allow rule, ServiceLB binds no node", async () => {
    const { code, output, hosts } = await decide(join(FIXTURES, "ingress", "valid", "tunnel.yaml"));
    expect(code, output).toBe(0);
    expect(Object.keys(hosts).sort()).toEqual(["home-1", "vps-1"]);
    for (const host of Object.values(hosts)) {
      expect(host.interface).toBe(host.defaultInterface);
      expect(host.interface).not.toBe("");
      expect(host.present).toEqual([deny(host.interface)]);
      expect(host.absent).toEqual([allow]);
      expect(host.enablelb).toBe("false");
    }
  });

  it("both: the ingress node allows 80/443 and ServiceLB binds only there; no deny rule", async () => {
    const { code, output, hosts } = await decide(join(FIXTURES, "ingress", "valid", "both.yaml"));
    expect(code, output).toBe(0);
    const node = hosts["home-1"];
    expect(node?.present).toEqual([allow]);
    expect(node?.absent).toEqual([deny(node?.interface ?? "")]);
    expect(node?.enablelb).toBe("true");
  });

  it("public: ingress nodes allow 80/443, the others neither allow nor deny, and ServiceLB skips them", async () => {
    const { code, output, hosts } = await decide(join(FIXTURES, "valid", "ha-3-servers.yaml"));
    expect(code, output).toBe(0);
    expect(hosts["edge-1"]?.present).toEqual([allow]);
    expect(hosts["edge-1"]?.enablelb).toBe("true");
    for (const name of ["cp-1", "cp-2", "cp-3", "batch-1"]) {
      expect(hosts[name]?.present, name).toEqual([]);
      expect(hosts[name]?.absent, name).toContain(allow);
      expect(hosts[name]?.enablelb, name).toBe("false");
    }
  });

  it("ports listed out of order: the rule as ufw stores and prints it (sorted by number), so a stale one is found", async () => {
    const { code, output, hosts } = await decide(join(FIXTURES, "ingress", "valid", "tunnel.yaml"), {
      firewall_ingress_tcp_ports: ["8443", "443", "80"],
    });
    expect(code, output).toBe(0);
    for (const host of Object.values(hosts)) {
      expect(host.present).toEqual([
        `ufw deny in on ${host.interface} to any port 80,443,8443 proto tcp comment 'tunnel mode'`,
      ]);
      expect(host.absent).toEqual([`ufw allow 80,443,8443/tcp comment 'ingress'`]);
    }
  });

  it("stops a tunnel-mode run whose host has no known public interface, naming the variable", async () => {
    const { code, output } = await decide(join(FIXTURES, "ingress", "valid", "tunnel.yaml"), {
      firewall_public_interface: "",
    });
    expect(code).not.toBe(0);
    expect(output).toMatch(/firewall_public_interface is empty/);
  });

  it("refuses a host told both to serve and to close public HTTP(S)", async () => {
    const { code, output } = await decide(join(FIXTURES, "ingress", "valid", "tunnel.yaml"), {
      firewall_ingress: true,
    });
    expect(code).not.toBe(0);
    expect(output).toMatch(/firewall_ingress .* and firewall_ingress_closed .* contradict each other/);
  });
});
