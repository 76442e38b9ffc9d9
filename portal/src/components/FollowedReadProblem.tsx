import { messageFor } from '../errors';
import type { Followed } from '../useFollowed';

/**
 * Says that a followed read failed: an alert when nothing could be read yet, else a small line
 * under which the data last read stays on screen. Either way it is being tried again.
 */
export function FollowedReadProblem({ what, read }: { what: string; read: Followed<unknown> }) {
  if (!read.failed) return null;
  if (read.shown === undefined) {
    return (
      <p role="alert" className="alert error">
        Could not load {what}: {messageFor(read.error)} (trying again)
      </p>
    );
  }
  return (
    <p role="status" className="uplink-error small-text">
      Could not refresh {what}: {messageFor(read.error)} (showing what was last read; trying again)
    </p>
  );
}
