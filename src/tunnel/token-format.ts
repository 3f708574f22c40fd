/**
 * A Cloudflare Tunnel token as cloudflared reads it (cmd/cloudflared/tunnel/subcommands.go,
 * ParseToken): base64 of the JSON {"a": account tag, "t": tunnel UUID, "s": base64 secret}. Reading
 * it here lets `infra` refuse a token of another account or tunnel before it reaches Git.
 */

export interface TunnelToken {
  accountTag: string;
  tunnelId: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The token's account and tunnel, or why it is not a tunnel token. */
export function parseTunnelToken(text: string): TunnelToken | { problem: string } {
  const token = text.trim();
  if (token === "") return { problem: "it is empty" };
  if (token.length > 4096) return { problem: "it is longer than any tunnel token (4096 characters)" };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token))
    return { problem: "it is not base64 (a pasted command line or quote?)" };
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, "base64").toString("utf8"));
  } catch {
    return { problem: "it does not decode to the JSON a tunnel token holds" };
  }
  const fields = value as { a?: unknown; t?: unknown; s?: unknown } | null;
  if (typeof fields?.a !== "string" || typeof fields.t !== "string" || typeof fields.s !== "string") {
    return { problem: "it lacks the account (a), tunnel (t) or secret (s) of a tunnel token" };
  }
  if (!UUID.test(fields.t)) return { problem: `its tunnel id ${JSON.stringify(fields.t)} is not a UUID` };
  if (fields.s.length < 4) return { problem: "its secret is empty" };
  return { accountTag: fields.a, tunnelId: fields.t.toLowerCase() };
}
