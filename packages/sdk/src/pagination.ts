// A list call returns a PagePromise: awaiting it gives the first page (`data`, `meta`, `links`);
// iterating it with `for await` yields every item of every page, following `links.next`;
// `toArray({ limit })` collects items up to a cap. Nothing is requested until it is awaited or
// iterated, and the first page is fetched once however it is used.

/** The list envelope every list endpoint returns. */
export type Page<Item> = {
  data: Item[]
  meta: { current_page: number; last_page: number; per_page: number; total: number }
  links: { first: string; last: string; prev: string | null; next: string | null }
}

/** Fetches a page given the query of its URL (the caller's first, then each `links.next` one). */
type FetchPage<P> = (query: URLSearchParams | undefined) => Promise<P>

export class PagePromise<Item, P extends Page<Item> = Page<Item>>
  implements PromiseLike<P>, AsyncIterable<Item>
{
  readonly #fetchPage: FetchPage<P>
  #first: Promise<P> | undefined

  constructor(fetchPage: FetchPage<P>) {
    this.#fetchPage = fetchPage
  }

  #firstPage(): Promise<P> {
    this.#first ??= this.#fetchPage(undefined)
    return this.#first
  }

  // biome-ignore lint/suspicious/noThenProperty: a PagePromise is awaited for its first page
  then<A = P, B = never>(
    onFulfilled?: ((page: P) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#firstPage().then(onFulfilled, onRejected)
  }

  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<P | B> {
    return this.#firstPage().catch(onRejected)
  }

  /** Every page, the first one included, until `links.next` is null. */
  async *pages(): AsyncGenerator<P, void, undefined> {
    let page = await this.#firstPage()
    for (;;) {
      yield page
      const next = page.links?.next
      // An empty page or the last one ends the walk even if a link says otherwise: never loop.
      if (!next || page.data.length === 0 || page.meta.current_page >= page.meta.last_page) return
      page = await this.#fetchPage(new URL(next).searchParams)
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Item, void, undefined> {
    for await (const page of this.pages()) yield* page.data
  }

  /** The items of every page, stopping once `limit` (1000 unless given) are collected. */
  async toArray(options: { limit?: number } = {}): Promise<Item[]> {
    const limit = options.limit ?? 1000
    const items: Item[] = []
    if (limit <= 0) return items
    for await (const page of this.pages()) {
      for (const item of page.data) {
        items.push(item)
        if (items.length >= limit) return items
      }
    }
    return items
  }
}
