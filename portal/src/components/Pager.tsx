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
