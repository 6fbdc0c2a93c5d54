/**
 * @module Page/per_page pagination as an async iterator. Sendoso's lists name their totals
 * differently (total_count, total_posts, total_groups, total_users); the list shapes in the domain
 * record which is which, and this walks pages until the total is reached or a page comes back short.
 */

/** One page of a Sendoso list. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly page: number;
  readonly perPage: number;
  /** The list's total as Sendoso reported it on this page. */
  readonly total: number;
}

/** Sendoso's documented maximum page size. */
export const MAX_PER_PAGE = 100;

/**
 * Yields every item of a list, fetching pages lazily. Items whose key was already yielded are
 * skipped: when something is created while we page, later pages shift and would repeat an item.
 */
export async function* paginate<T>(
  fetchPage: (page: number, perPage: number) => Promise<Page<T>>,
  options: { readonly perPage?: number; readonly key?: (item: T) => unknown } = {},
): AsyncGenerator<T, void, undefined> {
  const perPage = options.perPage ?? MAX_PER_PAGE;
  const seen = new Set<unknown>();
  let fetched = 0;
  for (let page = 1; ; page++) {
    const result = await fetchPage(page, perPage);
    for (const item of result.items) {
      if (options.key) {
        const key = options.key(item);
        if (seen.has(key)) continue;
        seen.add(key);
      }
      yield item;
    }
    fetched += result.items.length;
    if (result.items.length === 0 || result.items.length < result.perPage || fetched >= result.total) return;
  }
}
