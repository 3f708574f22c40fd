/**
 * How long one test (or one hook) of each tier may run before it counts as hung: a few minutes
 * above the slowest one measured (docs/testing.md has the figures), so a hang fails soon after the
 * work should have ended, with the tier's diagnostics, instead of after an hour. vitest.config.ts
 * applies one constant per tier; a test that needs longer says so with its own, sized the same way.
 */
export const TIER_TIMEOUT_MS = {
  /** Pure logic, plus one Ansible template render (k3s-config.test.ts, its own 3 min). */
  unit: 20_000,
  /**
   * The slowest static tests run ansible-lint over ansible/ (directly, and as a pre-commit hook, in
   * parallel files): 50-150 s each on a loaded 2-core machine.
   */
  static: 300_000,
  /** Starting etcd, kube-apiserver and Velero takes 15-40 s; the longest test (the drill) about 30 s. */
  controlplane: 240_000,
  /**
   * A hosts test that runs no converge (those have the journey's own RUN_TIMEOUT): the slowest, the K3s
   * roles in check mode and the bad-input runs, take 1-1.5 min at load 2.
   */
  hosts: 600_000,
} as const;

/**
 * One `infra` command in the hosts tier (its playbooks run through the product's Ansible adapter): the
 * slowest, the first converge with the agent cut off, took 409-612 s with Mitogen at load 2-4 (933 s with
 * `linear` at load 5-8; docs/testing.md), so a command still going after 20 min has hung; it is stopped
 * (SIGINT, then SIGKILL) and the test fails with its last progress line, and the guests' diagnostics are
 * kept.
 */
export const INFRA_RUN_TIMEOUT_MS = 1_200_000;

/**
 * The `--timeout` a control-plane test gives a command that waits on the API (backup, restore,
 * drill): each finishes within a minute here, and it is shorter than the tier's timeout, so a hang
 * ends with the command's own WAIT_TIMEOUT naming the last state it saw, and the servers' log tails.
 */
export const API_WAIT = "3m";
