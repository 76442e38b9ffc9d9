import type { ApiError } from '../api/client';
import { messageFor } from '../errors';
import { fieldMessage } from './ProtocolFields';

/**
 * The alert over a form the server refused. Messages for the form's fields sit under them
 * (the alert only points there); every other message is said here in full, so that no
 * refusal goes unsaid. `labels` names the fields the form shows.
 */
export function FormProblem({
  problem,
  labels,
}: {
  problem: ApiError | null;
  labels: Readonly<Record<string, string>>;
}) {
  if (problem === null) return null;
  const elsewhere = problem.errorsOutside(Object.keys(labels));
  const placed = problem.errors.length - elsewhere.length;
  return (
    <div role="alert" className="alert error">
      {placed > 0 && <p>Some fields need attention.</p>}
      {elsewhere.map((e, i) => (
        <p key={i}>{e.field ? fieldMessage(e.field, e.message) : e.message}</p>
      ))}
      {problem.errors.length === 0 && <p>{messageFor(problem)}</p>}
    </div>
  );
}
