import type { ProtocolField } from '../api/types';

interface Props {
  fields: ProtocolField[];
  values: Record<string, string>;
  onChange(name: string, value: string): void;
  /** The server's message for a field, if it rejected one. */
  errorFor(name: string): string | undefined;
  /** Secret fields that already hold a value (editing): empty input keeps it. */
  secretsSet?: ReadonlySet<string>;
  disabled?: boolean;
}

/** Renders a protocol's fields exactly as the server describes them (label, help, placeholder). */
export function ProtocolFields({
  fields,
  values,
  onChange,
  errorFor,
  secretsSet,
  disabled,
}: Props) {
  return (
    <>
      {fields.map((f) => {
        const id = `setting-${f.name}`;
        const error = errorFor(f.name);
        const keeps = f.secret && secretsSet?.has(f.name);
        const describedBy = [f.help ? `${id}-help` : '', error ? `${id}-error` : '']
          .filter(Boolean)
          .join(' ');
        return (
          <div className={`field${error ? ' invalid' : ''}`} key={f.name}>
            <label htmlFor={id}>
              {f.label}
              {!f.required && <span className="muted"> (optional)</span>}
            </label>
            <input
              id={id}
              name={f.name}
              type={
                f.secret || f.type === 'password' ? 'password' : f.type === 'url' ? 'url' : 'text'
              }
              autoComplete={f.secret ? 'new-password' : 'off'}
              spellCheck={false}
              required={f.required && !keeps}
              placeholder={keeps ? 'Set — leave empty to keep it' : (f.placeholder ?? undefined)}
              value={values[f.name] ?? ''}
              onChange={(e) => onChange(f.name, e.target.value)}
              aria-invalid={error ? true : undefined}
              aria-describedby={describedBy || undefined}
              disabled={disabled}
            />
            {f.help && (
              <p className="help" id={`${id}-help`}>
                {f.help}
              </p>
            )}
            {error && (
              <p className="field-error" id={`${id}-error`}>
                {fieldMessage(f.label, error)}
              </p>
            )}
          </div>
        );
      })}
    </>
  );
}

/** The values to send: every non-empty input, trimmed (secrets as typed). */
export function settingsToSend(
  fields: ProtocolField[],
  values: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields) {
    const raw = values[f.name] ?? '';
    const v = f.secret ? raw : raw.trim();
    if (v !== '') out[f.name] = v;
  }
  return out;
}

/**
 * A server message for a field as a sentence: terse ones ("is required") get the field's label
 * in front ("TTN Client ID is required.").
 */
export function fieldMessage(label: string, message: string | undefined): string {
  if (!message) return '';
  const sentence = /^[a-z]/.test(message) ? `${label} ${message}` : message;
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}
