// Reads what a rendered product page shows, for suites that assert on it: which reviews
// pod answered, the stars and their color, and the messages shown in place of a section.

export interface ReviewView {
  readonly reviewer: string;
  /** Full stars; absent when the review shows no rating (reviews v1) or an error. */
  readonly stars?: number;
  readonly color?: string;
  readonly ratingError?: string;
}

export interface ProductPageView {
  /** The signed-in user shown in the navigation bar. */
  readonly user?: string;
  /** The details list (label → value), when the details section shows it. */
  readonly details?: Readonly<Record<string, string>>;
  readonly detailsError?: string;
  readonly reviews: readonly ReviewView[];
  /** "Reviews served by": the reviews pod that answered. */
  readonly reviewsServedBy?: string;
  readonly reviewsError?: string;
}

/** What a page's reviews section shows, in one word, to count pages by. */
export type ReviewsShown =
  | 'no-stars'
  | 'black-stars'
  | 'red-stars'
  | 'ratings-unavailable'
  | 'reviews-unavailable'
  | 'other';

export function readProductPage(html: string): ProductPageView {
  const details = between(html, '<div class="details">', '</div>');
  const reviews = between(html, '<div class="reviews">', '</div>');
  const user = /<span class="user">([^<]*)<\/span>/.exec(html)?.[1];
  const detailsError = /<p class="error">([^<]*)<\/p>/.exec(details)?.[1];
  const reviewsError = /<p class="error">([^<]*)<\/p>/.exec(reviews)?.[1];
  const servedBy = /<u class="served-by">([^<]*)<\/u>/.exec(reviews)?.[1];
  const pairs = [...details.matchAll(/<dt>([^<]*):<\/dt><dd>([^<]*)<\/dd>/g)];
  return {
    ...(user === undefined ? {} : { user: unescape(user) }),
    ...(pairs.length === 0
      ? {}
      : { details: Object.fromEntries(pairs.map(([, k, v]) => [unescape(k!), unescape(v!)])) }),
    ...(detailsError === undefined ? {} : { detailsError: unescape(detailsError) }),
    reviews: [...reviews.matchAll(/<blockquote>([\s\S]*?)<\/blockquote>/g)].map(([, quote]) =>
      readReview(quote!),
    ),
    ...(servedBy === undefined ? {} : { reviewsServedBy: unescape(servedBy) }),
    ...(reviewsError === undefined ? {} : { reviewsError: unescape(reviewsError) }),
  };
}

export function reviewsShown(view: ProductPageView): ReviewsShown {
  if (view.reviewsError !== undefined || view.reviews.length === 0) return 'reviews-unavailable';
  const shown = new Set(view.reviews.map(reviewShown));
  return shown.size === 1 ? [...shown][0]! : 'other';
}

function reviewShown(review: ReviewView): ReviewsShown {
  if (review.ratingError !== undefined) return 'ratings-unavailable';
  if (review.color === undefined) return 'no-stars';
  if (review.color === 'black') return 'black-stars';
  return review.color === 'red' ? 'red-stars' : 'other';
}

function readReview(quote: string): ReviewView {
  const reviewer = unescape(/<small>([^<]*)<\/small>/.exec(quote)?.[1] ?? '');
  const color = /<font color="([^"]*)">/.exec(quote)?.[1];
  const ratingError = /<p><i>([^<]*)<\/i><\/p>/.exec(quote)?.[1];
  if (color !== undefined)
    return {
      reviewer,
      color: unescape(color),
      stars: quote.split('glyphicon glyphicon-star"').length - 1,
    };
  return ratingError === undefined
    ? { reviewer }
    : { reviewer, ratingError: unescape(ratingError) };
}

function between(text: string, start: string, end: string): string {
  const from = text.indexOf(start);
  if (from < 0) return '';
  const to = text.indexOf(end, from + start.length);
  return text.slice(from + start.length, to < 0 ? undefined : to);
}

function unescape(text: string): string {
  return text
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&amp;', '&');
}
