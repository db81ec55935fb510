import { LIST_PAGE_SIZE, MAX_LIST_PAGE_SIZE, type ListOptions } from './api';

/** The page size a listing uses: the caller's, bounded to what one S3 call returns. */
export function pageSizeOf(options: ListOptions): number {
  const size = options.pageSize ?? LIST_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 1) return LIST_PAGE_SIZE;
  return Math.min(size, MAX_LIST_PAGE_SIZE);
}
