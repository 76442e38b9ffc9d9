/** Previous / Next over an offset-paged list (`{items, total}` answers); hidden when one page holds all. */
export function Pager({
  offset,
  pageSize,
  shown,
  total,
  label = 'Pages',
  onOffset,
}: {
  offset: number;
  pageSize: number;
  /** Items on the current page. */
  shown: number;
  total: number;
  label?: string;
  onOffset: (offset: number) => void;
}) {
  if (total <= pageSize) return null;
  return (
    <nav className="pager" aria-label={label}>
      <button
        type="button"
        className="secondary small"
        disabled={offset === 0}
        onClick={() => onOffset(Math.max(0, offset - pageSize))}
      >
        Previous
      </button>
      <span className="muted">
        {offset + 1}–{offset + shown} of {total}
      </span>
      <button
        type="button"
        className="secondary small"
        disabled={offset + pageSize >= total}
        onClick={() => onOffset(offset + pageSize)}
      >
        Next
      </button>
    </nav>
  );
}

/**
 * In place of an empty page whose offset lies past the end of a list that is not empty (an old
 * link, or items deleted since): says so, with the way back to the first page.
 */
export function PastTheEnd({ total, onFirstPage }: { total: number; onFirstPage: () => void }) {
  return (
    <div className="empty">
      <p>
        This page is past the end of the list ({total} in all).{' '}
        <button type="button" className="link" onClick={onFirstPage}>
          Go to the first page
        </button>
      </p>
    </div>
  );
}

/** The `offset` of a paged list kept in the address (`?offset=`): a whole number, else 0. */
export function offsetParam(params: URLSearchParams): number {
  return Math.max(0, Math.floor(Number(params.get('offset'))) || 0);
}
