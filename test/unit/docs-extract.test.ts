import { describe, expect, it } from "vitest";
import { commandVariants, extractCommands, extractLinks, extractMermaid } from "../helpers/docs.js";

describe("docs extraction", () => {
  it("expands alternatives and fills placeholders", () => {
    expect(commandVariants("infra backup create|list NAME [--json]")).toEqual([
      ["backup", "create", "placeholder", "--json"],
      ["backup", "list", "placeholder", "--json"],
    ]);
    expect(commandVariants("./infra node add <name> --dry-run  # check mode")).toEqual([
      ["node", "add", "placeholder", "--dry-run"],
    ]);
    expect(
      commandVariants("infra completion bash > ~/.local/share/bash-completion/completions/infra"),
    ).toEqual([["completion", "bash"]]);
    expect(commandVariants("infra backup list -o json | jq .backups")).toEqual([
      ["backup", "list", "-o", "json"],
    ]);
    expect(commandVariants("infra dr restore-workload\\|drill")).toEqual([
      ["dr", "restore-workload"],
      ["dr", "drill"],
    ]);
  });

  it("finds command lines in shell fences and inline code, not in other fences", () => {
    const md = [
      "Run `infra plan --json`.",
      "```sh",
      "$ ./infra check",
      "echo infra",
      "```",
      "```yaml",
      "infra: x",
      "```",
    ].join("\n");
    expect(extractCommands("a.md", md).map((c) => [c.line, c.source])).toEqual([
      [1, "infra plan --json"],
      [3, "./infra check"],
    ]);
  });

  it("finds relative links and Mermaid blocks", () => {
    const md = "[a](docs/x.md#y) [b](https://e.org) `[c](no.md)`\n```mermaid\nflowchart LR\n a-->b\n```\n";
    expect(extractLinks("r.md", md).map((l) => l.target)).toEqual(["docs/x.md#y"]);
    expect(extractMermaid("r.md", md)).toEqual([{ file: "r.md", line: 2, text: "flowchart LR\n a-->b" }]);
  });
});
