export interface Page {
  limit: number;
  offset: number;
}

export interface PageResult<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

/** count(*) is a string (bigint) on PostgreSQL and a number on SQLite. */
export function toCount(value: string | number | bigint | undefined): number {
  return Number(value ?? 0);
}
