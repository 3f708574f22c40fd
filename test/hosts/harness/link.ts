/**
 * The VMs' private link, their "public internet": a bridge in a network namespace the harness creates,
 * so that more than two devices can share it (the tailnet device that is not a node joins it through a
 * veth, test/helpers/tailnet/mesh.ts). Each VM's second card is a tap device. QEMU opens a tap by name
 * in its own namespace, so the tap is made in the host's namespace and moved into the link's once QEMU
 * holds it (a tap keeps its open file across the move); nothing in the host's namespace carries an
 * address or stays behind: deleting the link's namespace deletes the taps in it.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { exec } from "../../../src/adapters/exec.js";

export interface Link {
  /** The network namespace holding the bridge `br0`. */
  namespace: string;
  /** Makes the tap a VM's card opens (at most 15 characters, unique to this link). */
  createTap(index: number): Promise<string>;
  /** Once QEMU holds the tap: moves it into the link's namespace and onto the bridge. */
  attach(tap: string): Promise<void>;
  stop(): Promise<void>;
}

const ip = (args: string[]) => exec("ip", args, { timeoutMs: 30_000 });

export async function startLink(): Promise<Link> {
  const id = randomBytes(3).toString("hex");
  const namespace = `infra-hosts-${id}-link`;
  const taps: string[] = [];
  await ip(["netns", "add", namespace]);
  try {
    await ip(["-n", namespace, "link", "add", "br0", "type", "bridge"]);
    await ip(["-n", namespace, "link", "set", "br0", "up"]);
  } catch (error) {
    await exec("ip", ["netns", "del", namespace], { check: false });
    throw error;
  }
  return {
    namespace,
    async createTap(index) {
      const tap = `ih${id}t${index}`;
      await ip(["tuntap", "add", "dev", tap, "mode", "tap"]);
      taps.push(tap);
      // Up, so that its carrier shows when QEMU attaches (attach waits for that).
      await ip(["link", "set", tap, "up"]);
      return tap;
    },
    async attach(tap) {
      const deadline = Date.now() + 60_000;
      // carrier is 1 once a process holds the tap's queue; QEMU opens it before the guest runs.
      while ((await readFile(`/sys/class/net/${tap}/carrier`, "utf8").catch(() => "0")).trim() !== "1") {
        if (Date.now() > deadline) throw new Error(`QEMU did not open the link's tap ${tap} within 60 s`);
        await sleep(100);
      }
      await ip(["link", "set", tap, "netns", namespace]);
      await ip(["-n", namespace, "link", "set", tap, "master", "br0", "up"]);
    },
    async stop() {
      await exec("ip", ["netns", "del", namespace], { check: false });
      // A tap never moved (a start that failed) is still in the host's namespace.
      for (const tap of taps) await exec("ip", ["link", "del", tap], { check: false });
    },
  };
}
