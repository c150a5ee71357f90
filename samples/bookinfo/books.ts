// The bookstore's data, as Istio's Bookinfo services hold it: one book, its details, two
// reviews and their ratings.

export interface Product {
  readonly id: number;
  readonly title: string;
  /** Trusted HTML (it is the store's own text). */
  readonly descriptionHtml: string;
}

export const PRODUCTS: readonly Product[] = [
  {
    id: 0,
    title: 'The Comedy of Errors',
    descriptionHtml:
      '<a href="https://en.wikipedia.org/wiki/The_Comedy_of_Errors">Wikipedia Summary</a>: ' +
      "The Comedy of Errors is one of <b>William Shakespeare's</b> early plays. It is his " +
      'shortest and one of his most farcical comedies, with a major part of the humour coming ' +
      'from slapstick and mistaken identity, in addition to puns and word play.',
  },
];

/** What details answers for any product id (Istio's details.rb `get_book_details`). */
export function bookDetails(id: number): Record<string, string | number> {
  return {
    id,
    author: 'William Shakespeare',
    year: 1595,
    type: 'paperback',
    pages: 200,
    publisher: 'PublisherA',
    language: 'English',
    'ISBN-10': '1234567890',
    'ISBN-13': '123-1234567890',
  };
}

export const REVIEWERS = ['Reviewer1', 'Reviewer2'] as const;
export type Reviewer = (typeof REVIEWERS)[number];

export const REVIEW_TEXT: Readonly<Record<Reviewer, string>> = {
  Reviewer1: 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!',
  Reviewer2:
    'Absolutely fun and entertaining. The play lacks thematic depth when compared to other ' +
    'plays by Shakespeare.',
};

/** Stars per reviewer until someone posts others (Istio's ratings.js `getLocalReviews`). */
export const DEFAULT_RATINGS: Readonly<Record<Reviewer, number>> = {
  Reviewer1: 5,
  Reviewer2: 4,
};

/** A product id from the last path segment; undefined unless it is a decimal integer. */
export function productId(pathname: string): number | undefined {
  const segment = pathname.slice(pathname.lastIndexOf('/') + 1);
  return /^\d{1,9}$/.test(segment) ? Number(segment) : undefined;
}
