/**
 * The portal's one format for a date-time: the reader's locale, with seconds (retries and
 * uplinks come seconds apart), or a dash when there is none.
 */
export function formatDateTime(value: string | null | undefined): string {
  if (!value) return '—';
  const d = new Date(value);
  return Number.isNaN(d.getTime())
    ? value
    : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** "in 52 minutes" / "3 minutes ago", for token expiry. */
export function relativeTime(value: string | null | undefined, now = Date.now()): string {
  if (!value) return '';
  const ms = new Date(value).getTime() - now;
  if (Number.isNaN(ms)) return '';
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  const minutes = Math.round(ms / 60_000);
  if (Math.abs(minutes) < 90) return rtf.format(minutes, 'minute');
  const hours = Math.round(minutes / 60);
  if (Math.abs(hours) < 48) return rtf.format(hours, 'hour');
  return rtf.format(Math.round(hours / 24), 'day');
}
