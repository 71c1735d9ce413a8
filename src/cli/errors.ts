/** A mistake in how the command was called: reported with a usage hint, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The sub-command whose --help the hint names (`dht put`), when not the top-level command. */
  command?: string;
}

/**
 * An operation that failed for a reason its message explains in full (not
 * found, refused, timed out): reported as one line, exit code 1.
 */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}
