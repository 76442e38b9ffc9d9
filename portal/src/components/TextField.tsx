import { fieldMessage } from './ProtocolFields';

/** A labelled text input with its help and, when the server refused it, its message. */
export function TextField({
  id,
  label,
  value,
  onChange,
  error,
  help,
  placeholder,
}: {
  id: string;
  label: string;
  value: string;
  onChange(value: string): void;
  /** The server's message for the field, if it refused it. */
  error?: string;
  help?: string;
  placeholder?: string;
}) {
  const describedBy = [help ? `${id}-help` : '', error ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div className={`field${error ? ' invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        value={value}
        placeholder={placeholder}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy || undefined}
      />
      {help && (
        <p className="help" id={`${id}-help`}>
          {help}
        </p>
      )}
      {error && (
        <p className="field-error" id={`${id}-error`}>
          {fieldMessage(label, error)}
        </p>
      )}
    </div>
  );
}
