/**
 * The ACME account e-mail as Let's Encrypt's server (Boulder, `policy.ValidEmail`) judges the
 * `mailto:` contact cert-manager sends: a bare address (local@domain) whose domain is a public DNS
 * name, and not one of the RFC 2606 example domains, which Boulder refuses by name.
 */
import { DOMAIN } from "./names.js";

/** RFC 5322 dot-atom characters of the local part. */
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const QUOTED = /^"([\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"$/;

/** Boulder's forbiddenMailDomains. */
export const ACME_FORBIDDEN_DOMAINS: readonly string[] = ["example.com", "example.net", "example.org"];

export type EmailCheck = { ok: true; domain: string } | { ok: false; reason: string; hint: string };

export function checkEmail(text: string): EmailCheck {
  const hint = "write a plain address such as ops@your-domain.tld (no mailto:, no name, no <>)";
  if (/^mailto:/i.test(text))
    return {
      ok: false,
      reason: "it is a mailto: URL",
      hint: "drop the mailto: prefix (cert-manager adds it)",
    };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return { ok: false, reason: "it is a URL", hint };
  if (text.includes("<") || text.includes(">"))
    return { ok: false, reason: "it has a display name or <>", hint };
  const at = text.lastIndexOf("@");
  if (at === -1) return { ok: false, reason: "it has no @", hint };
  if (at === 0) return { ok: false, reason: "nothing comes before the @", hint };
  const local = text.slice(0, at);
  const domain = text.slice(at + 1).toLowerCase();
  if (!DOT_ATOM.test(local) && !QUOTED.test(local)) {
    return {
      ok: false,
      reason: `the part before the @ (${JSON.stringify(local.slice(0, 64))}) is not a mailbox name`,
      hint,
    };
  }
  if (local.length > 64)
    return { ok: false, reason: "the part before the @ is longer than 64 characters", hint };
  if (domain.startsWith("["))
    return { ok: false, reason: "Let's Encrypt refuses an address at an IP literal", hint };
  if (!DOMAIN.test(domain))
    return { ok: false, reason: `${JSON.stringify(domain.slice(0, 253))} is not a public domain name`, hint };
  return { ok: true, domain };
}
