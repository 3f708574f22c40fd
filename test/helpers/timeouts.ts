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
  /** One hosts test awaits one playbook run (at most 10 min measured) plus its checks. */
  hosts: 1_200_000,
} as const;

/**
 * One `infra` command in the hosts tier (its playbooks run through the product's Ansible adapter): the
 * first converge of both VMs took 605 s on a quiet machine and over 15 min with the load of five
 * engineers' test runs on the same two cores (docs/testing.md), so a command still going after 40 min
 * has hung; it is stopped (SIGINT, then SIGKILL) and the test fails with its last progress line, and
 * the guests' diagnostics are kept.
 */
export const INFRA_RUN_TIMEOUT_MS = 2_400_000;

/**
 * The `--timeout` a control-plane test gives a command that waits on the API (backup, restore,
 * drill): each finishes within a minute here, and it is shorter than the tier's timeout, so a hang
 * ends with the command's own WAIT_TIMEOUT naming the last state it saw, and the servers' log tails.
 */
export const API_WAIT = "3m";
