// What reviews answers to `GET /reviews/<id>`, and productpage's reading of it.

/** A review's rating: stars in a color, or why there are none. */
export type Rating =
  { readonly stars: number; readonly color: string } | { readonly error: string };

export interface Review {
  readonly reviewer: string;
  readonly text: string;
  /** Absent from v1, which does not call ratings. */
  readonly rating?: Rating;
}

export interface ReviewsReply {
  readonly id: string;
  /** The pod that answered: productpage shows it under "Reviews served by". */
  readonly podname: string;
  readonly reviews: readonly Review[];
}

/** Istio's wording when ratings did not answer. */
export const RATINGS_UNAVAILABLE = 'Ratings service is currently unavailable';

/** A reviews answer from parsed JSON; undefined when it is not one. */
export function readReviewsReply(value: Record<string, unknown>): ReviewsReply | undefined {
  const { id, podname, reviews } = value;
  if (typeof id !== 'string' || typeof podname !== 'string' || !Array.isArray(reviews))
    return undefined;
  const read: Review[] = [];
  for (const item of reviews as unknown[]) {
    const review = readReview(item);
    if (review === undefined) return undefined;
    read.push(review);
  }
  return { id, podname, reviews: read };
}

function readReview(item: unknown): Review | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const { reviewer, text, rating } = item as Record<string, unknown>;
  if (typeof reviewer !== 'string' || typeof text !== 'string') return undefined;
  if (rating === undefined) return { reviewer, text };
  const read = readRating(rating);
  return read && { reviewer, text, rating: read };
}

function readRating(rating: unknown): Rating | undefined {
  if (typeof rating !== 'object' || rating === null) return undefined;
  const { stars, color, error } = rating as Record<string, unknown>;
  if (typeof error === 'string') return { error };
  if (!Number.isInteger(stars) || (stars as number) < 0 || (stars as number) > 5) return undefined;
  return typeof color === 'string' ? { stars: stars as number, color } : undefined;
}
