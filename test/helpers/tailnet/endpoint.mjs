// Runs inside a network namespace of the mesh test (tailnet-mesh.test.ts), as one of:
//   listen <tcp ports,...> <udp ports,...>    accept TCP connections and echo UDP datagrams, as K3s would listen
//   probe <tcp|udp> <address> <port> <ms>     one connection attempt; prints open, refused, timeout or unreachable
import { createSocket } from "node:dgram";
import { connect, createServer } from "node:net";

const [mode, ...args] = process.argv.slice(2);
if (mode === "listen") {
  const [tcp = "", udp = ""] = args;
  for (const port of tcp.split(",").filter(Boolean).map(Number)) {
    createServer((socket) => socket.end()).listen(port, "0.0.0.0");
  }
  for (const port of udp.split(",").filter(Boolean).map(Number)) {
    const socket = createSocket("udp4");
    socket.on("message", (message, from) =>
      socket.send(Buffer.concat([Buffer.from("echo:"), message]), from.port, from.address),
    );
    socket.bind(port, "0.0.0.0");
  }
  setTimeout(() => console.log("ready"), 200);
} else if (mode === "probe") {
  const [proto, address, port, ms] = args;
  const done = (state) => {
    console.log(state);
    process.exit(0);
  };
  const failed = (error) =>
    done(
      error.code === "ECONNREFUSED"
        ? "refused"
        : ["ENETUNREACH", "EHOSTUNREACH"].includes(error.code)
          ? "unreachable"
          : `error:${error.code}`,
    );
  setTimeout(() => done("timeout"), Number(ms));
  if (proto === "tcp") {
    const socket = connect({ host: address, port: Number(port) }, () => done("open"));
    socket.on("error", failed);
  } else {
    const socket = createSocket("udp4");
    socket.on("message", (message) =>
      done(message.toString().startsWith("echo:") ? "open" : "error:bad-echo"),
    );
    socket.on("error", failed);
    socket.send("probe", Number(port), address, (error) => error && failed(error));
  }
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
