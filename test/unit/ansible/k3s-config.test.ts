/**
 * Golden tests of the K3s config.yaml templates, rendered by Ansible itself (real Jinja, the real
 * role defaults and the real group-vars wiring) for a first server, a joining server and an agent
 * of the fixture inventory (test/fixtures/ansible/inventory). The golden files are byte-exact
 * renders (`*.golden`, so YAML formatters leave them alone); `npm run golden:update` rewrites them.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { exec } from "../../../src/adapters/exec.js";
import { expectGolden } from "../../helpers/golden.js";
import { ANSIBLE_DIR, ansibleTestEnv, buildInventory, INSTALL_HINT } from "./fixture-inventory.js";

const ADDRESSES: Record<string, string> = {
  "cp-hetzner-1": "100.64.10.11",
  "cp-hetzner-2": "100.64.10.12",
  "wk-aws-1": "100.64.20.21",
};

let dir = "";
const golden = (name: string) => fileURLToPath(new URL(`golden/${name}.golden`, import.meta.url));
const rendered: Record<string, string> = {};

function renderPlaybook(out: string): string {
  const roles = join(ANSIBLE_DIR, "roles");
  return stringify([
    {
      name: "Render the K3s server configuration",
      hosts: "k3s_masters",
      gather_facts: false,
      connection: "local",
      tasks: [
        // The role's defaults and vars, and its own input checks, exactly as in a real run.
        {
          name: "Load k3s_server",
          "ansible.builtin.include_role": { name: "k3s_server", tasks_from: "preflight.yml", public: true },
        },
        {
          name: "Set the inputs the role computes on the host",
          "ansible.builtin.set_fact": {
            k3s_server_node_address: "{{ golden_addresses[inventory_hostname] }}",
            k3s_server_init_cluster: "{{ inventory_hostname == groups['k3s_masters'][0] }}",
            k3s_server_join_url:
              "{{ '' if inventory_hostname == groups['k3s_masters'][0] else 'https://' ~ golden_addresses[groups['k3s_masters'][0]] ~ ':6443' }}",
          },
        },
        {
          name: "Render",
          "ansible.builtin.template": {
            src: `${roles}/k3s_server/templates/config.yaml.j2`,
            dest: `${out}/{{ inventory_hostname }}.yaml`,
            mode: "0600",
          },
        },
      ],
    },
    {
      name: "Render the K3s agent configuration",
      hosts: "k3s_workers",
      gather_facts: false,
      connection: "local",
      tasks: [
        {
          name: "Load k3s_agent",
          "ansible.builtin.include_role": { name: "k3s_agent", tasks_from: "preflight.yml", public: true },
        },
        {
          name: "Set the inputs the role computes on the host",
          "ansible.builtin.set_fact": {
            k3s_agent_node_address: "{{ golden_addresses[inventory_hostname] }}",
            k3s_agent_server_url: "https://{{ golden_addresses[groups['k3s_masters'][0]] }}:6443",
          },
        },
        {
          name: "Render",
          "ansible.builtin.template": {
            src: `${roles}/k3s_agent/templates/config.yaml.j2`,
            dest: `${out}/{{ inventory_hostname }}.yaml`,
            mode: "0600",
          },
        },
      ],
    },
  ]);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "infra-k3s-golden-"));
  const env = await ansibleTestEnv(dir);
  const inventory = await buildInventory(dir, "fixture");
  const out = join(dir, "out");
  await mkdir(out, { recursive: true });
  const playbook = join(dir, "render.yml");
  await writeFile(playbook, renderPlaybook(out));
  const extra = join(dir, "extra.json");
  await writeFile(
    extra,
    JSON.stringify({
      golden_addresses: ADDRESSES,
      vault_k3s_token: "golden-test-token-0123456789abcdef",
      vault_etcd_s3_access_key: "golden-test-access-key",
      vault_etcd_s3_secret_key: "golden-test-secret-key",
    }),
  );
  const result = await exec("ansible-playbook", ["-i", inventory, "-e", `@${extra}`, playbook], {
    cwd: ANSIBLE_DIR,
    env,
    check: false,
  }).catch((error: unknown) => {
    throw new Error(`ansible-playbook could not run (${String(error)}); ${INSTALL_HINT}`);
  });
  if (result.exitCode !== 0) throw new Error(`rendering failed:\n${result.stdout}\n${result.stderr}`);
  for (const host of Object.keys(ADDRESSES))
    rendered[host] = await readFile(join(out, `${host}.yaml`), "utf8");
}, 180_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("k3s config.yaml templates rendered by Ansible", () => {
  it("first server: cluster-init, Tailscale addresses, flannel on tailscale0", async () => {
    const text = rendered["cp-hetzner-1"] ?? "";
    expectGolden(text, golden("k3s-server-first"));
    const config = parse(text) as Record<string, unknown>;
    expect(config["cluster-init"]).toBe(true);
    expect(config.server).toBeUndefined();
    expect(config["node-ip"]).toBe("100.64.10.11");
    expect(config["advertise-address"]).toBe("100.64.10.11");
    expect(config["node-external-ip"]).toBe("203.0.113.11");
    expect(config["flannel-iface"]).toBe("tailscale0");
    expect(config["flannel-backend"]).toBe("vxlan");
    expect(config["secrets-encryption"]).toBe(true);
    expect(config["tls-san"]).toEqual(["100.64.10.11", "cp-hetzner-1", "k8s-api.example.com"]);
    expect(config["node-label"]).toContain("svccontroller.k3s.cattle.io/enablelb=true");
    expect(config["node-label"]).toContain("infra-k3s.io/provider=hetzner");
    expect(config["token-file"]).toBe("/etc/rancher/k3s/cluster-token");
    expect(text).not.toMatch(/token:|golden-test/);
  });

  it("joining server: joins the first server's Tailscale IP, no cluster-init", async () => {
    const text = rendered["cp-hetzner-2"] ?? "";
    expectGolden(text, golden("k3s-server-join"));
    const config = parse(text) as Record<string, unknown>;
    expect(config["cluster-init"]).toBeUndefined();
    expect(config.server).toBe("https://100.64.10.11:6443");
    expect(config["node-ip"]).toBe("100.64.10.12");
    expect(config["node-label"]).not.toContain("svccontroller.k3s.cattle.io/enablelb=true");
    // Every node is labelled, so ServiceLB binds only where it is "true" (none at all in tunnel mode).
    expect(config["node-label"]).toContain("svccontroller.k3s.cattle.io/enablelb=false");
  });

  it("agent: server URL, node labels and taints from cluster.yaml", async () => {
    const text = rendered["wk-aws-1"] ?? "";
    expectGolden(text, golden("k3s-agent"));
    const config = parse(text) as Record<string, unknown>;
    expect(config.server).toBe("https://100.64.10.11:6443");
    expect(config["node-ip"]).toBe("100.64.20.21");
    expect(config["node-external-ip"]).toBe("198.51.100.21");
    expect(config["node-label"]).toEqual([
      "infra-k3s.io/provider=aws",
      "node.kubernetes.io/instance-type=t3.medium",
      "svccontroller.k3s.cattle.io/enablelb=false",
      "topology.kubernetes.io/region=eu-central-1",
      "workload=general",
    ]);
    expect(config["node-taint"]).toEqual(["dedicated=batch:NoSchedule"]);
    expect(config["cluster-init"]).toBeUndefined();
    expect(text).not.toMatch(/golden-test/);
  });
});
