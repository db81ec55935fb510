import { LIST_PAGE_SIZE, MAX_LIST_PAGE_SIZE, type BlobInfo, type ListOptions } from './api';

/** The page size a listing uses: the caller's, bounded to what one S3 call returns. */
export function pageSizeOf(options: ListOptions): number {
  const size = options.pageSize ?? LIST_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 1) return LIST_PAGE_SIZE;
  return Math.min(size, MAX_LIST_PAGE_SIZE);
}

/** Cuts a listing into pages of `pageSize` entries (the last one shorter), fetching entries only as pages are asked for. */
export async function* pagesOf(entries: AsyncIterable<BlobInfo>, pageSize: number): AsyncGenerator<BlobInfo[]> {
  let page: BlobInfo[] = [];
  for await (const info of entries) {
    page.push(info);
    if (page.length === pageSize) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}
