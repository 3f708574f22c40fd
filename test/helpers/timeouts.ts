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
  /** One hosts test awaits one playbook run (PLAYBOOK_TIMEOUT_MS at most) plus its checks. */
  hosts: 1_800_000,
} as const;

/**
 * One `ansible-playbook` run in the hosts tier: the first converge of both VMs took at most 605 s on
 * a quiet machine (docs/testing.md), but just over 15 min while another tier's servers shared the two
 * cores (2026-12-05, twice, both in k3s_prereq's last tasks); a run still going after 25 min has hung:
 * it is stopped and the test fails with the task it was in, and the guests' diagnostics are kept.
 */
export const PLAYBOOK_TIMEOUT_MS = 1_500_000;

/**
 * The `--timeout` a control-plane test gives a command that waits on the API (backup, restore,
 * drill): each finishes within a minute here, and it is shorter than the tier's timeout, so a hang
 * ends with the command's own WAIT_TIMEOUT naming the last state it saw, and the servers' log tails.
 */
export const API_WAIT = "3m";
