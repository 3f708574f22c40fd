/**
 * The probes' endpoint inside a hosts-tier VM: a small Python program (the guests have Python for
 * Ansible, no Node) with the same modes and answers as test/helpers/tailnet/endpoint.mjs. A probe sends
 * the program on SSH's stdin (`python3 -`); a listener runs it from a file as a transient systemd unit,
 * stopped by name.
 */
import type { Proto } from "../../helpers/tailnet/probes.js";
import type { Vm } from "./vm.js";

const ENDPOINT_PATH = "/run/infra-probe-endpoint.py";
const LISTENER_UNIT = "infra-probe-endpoint";

/** listen <tcp,...> <udp,...>: accept and close TCP, echo UDP; probe <tcp|udp> <address> <port> <ms>. */
const ENDPOINT = `
import errno, selectors, socket, sys

def ports(text):
    return [int(p) for p in text.split(",") if p]

def listen(tcp, udp):
    selector = selectors.DefaultSelector()
    for proto, kind, port_list in (("tcp", socket.SOCK_STREAM, tcp), ("udp", socket.SOCK_DGRAM, udp)):
        for port in ports(port_list):
            server = socket.socket(socket.AF_INET, kind)
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("0.0.0.0", port))
            if proto == "tcp":
                server.listen(16)
            selector.register(server, selectors.EVENT_READ, proto)
    while True:
        for key, _ in selector.select():
            if key.data == "tcp":
                key.fileobj.accept()[0].close()
            else:
                data, peer = key.fileobj.recvfrom(2048)
                key.fileobj.sendto(b"echo:" + data, peer)

def probe(proto, address, port, ms):
    try:
        if proto == "tcp":
            socket.create_connection((address, int(port)), timeout=int(ms) / 1000).close()
            return "open"
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client.settimeout(int(ms) / 1000)
        client.connect((address, int(port)))
        client.send(b"probe")
        return "open" if client.recv(2048).startswith(b"echo:") else "error:bad-echo"
    except socket.timeout:
        return "timeout"
    except ConnectionRefusedError:
        return "refused"
    except OSError as error:
        if error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "unreachable"
        return "error:" + errno.errorcode.get(error.errno or 0, str(error.errno))

if sys.argv[1] == "listen":
    listen(sys.argv[2], sys.argv[3])
else:
    print(probe(*sys.argv[2:6]))
`;

/** One connection attempt from inside the VM: open, refused, timeout, unreachable or error:<code>. */
export async function guestAttempt(
  vm: Vm,
  proto: Proto,
  address: string,
  port: number,
  timeoutMs: number,
): Promise<string> {
  return (
    await vm.ssh(`python3 - probe ${proto} ${address} ${port} ${timeoutMs}`, { input: ENDPOINT })
  ).stdout.trim();
}

/** Listens on these ports in the guest (as K3s would), as the systemd unit `unit`, until stopListening. */
export async function listenOn(
  vm: Vm,
  ports: { tcp: number[]; udp: number[] },
  unit = LISTENER_UNIT,
): Promise<void> {
  await vm.ssh(`cat > ${ENDPOINT_PATH}`, { input: ENDPOINT });
  await vm.ssh(
    `systemctl stop ${unit} 2>/dev/null; systemd-run --unit=${unit} --collect python3 ${ENDPOINT_PATH} listen '${ports.tcp.join(",")}' '${ports.udp.join(",")}' >/dev/null`,
  );
  const expected = ports.tcp.length + ports.udp.length;
  for (let i = 0; i < 30; i++) {
    // Every socket bound: ss lists the unit's listeners (TCP) and bound sockets (UDP) by its process.
    const bound = await vm.ssh(
      `pid=$(systemctl show -p MainPID --value ${unit}); ss -ltunpH | grep -c "pid=$pid," || true`,
      { check: false },
    );
    if (Number(bound.stdout.trim()) >= expected) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`${vm.name}: the probe endpoint did not listen on ${JSON.stringify(ports)}`);
}

export async function stopListening(vm: Vm, unit = LISTENER_UNIT): Promise<void> {
  await vm.ssh(`systemctl stop ${unit}`, { check: false });
}
