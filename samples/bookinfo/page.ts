import type { Product } from './books.js';
import type { Rating, ReviewsReply } from './reviews-reply.js';

// productpage's HTML, after Istio's productpage.html template: the same sections, wording,
// and star markup (a <font color> around glyphicon spans), so what people grep the Istio
// page for works here too.

export const DETAILS_UNAVAILABLE =
  'Sorry, product details are currently unavailable for this book.';
export const REVIEWS_UNAVAILABLE =
  'Sorry, product reviews are currently unavailable for this book.';

/** What an upstream gave productpage: its JSON, or the error shown in its place. */
export type Section<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export interface ProductPageModel {
  readonly product: Product;
  /** The signed-in user, if any. */
  readonly user: string | undefined;
  readonly details: Section<Readonly<Record<string, unknown>>>;
  readonly reviews: Section<ReviewsReply>;
}

/** The fields of the details section, in the template's order. */
const DETAIL_FIELDS = [
  ['Type', 'type'],
  ['Pages', 'pages'],
  ['Publisher', 'publisher'],
  ['Language', 'language'],
  ['ISBN-10', 'ISBN-10'],
  ['ISBN-13', 'ISBN-13'],
] as const;

export function renderProductPage(model: ProductPageModel): string {
  const { product } = model;
  return page(
    `${navigation(model.user)}
<div class="container">
<h3 class="product-title">${escapeHtml(product.title)}</h3>
<p class="product-description">${product.descriptionHtml}</p>
<div class="details">
<h4 class="text-center text-primary">Book Details</h4>
${model.details.ok ? detailsList(model.details.value) : failure('details', model.details.error)}
</div>
<div class="reviews">
<h4 class="text-center text-primary">Book Reviews</h4>
${model.reviews.ok ? reviewsList(model.reviews.value) : failure('reviews', model.reviews.error)}
</div>
</div>`,
  );
}

/** The index: what the application is made of, and the way to the product page. */
export function renderIndex(): string {
  return page(`<div class="container">
<h3>Hello! This is a simple bookstore application consisting of three services as shown below</h3>
<table class="services">
<tr><th>name</th><th>calls</th></tr>
<tr><td>productpage</td><td>details, reviews</td></tr>
<tr><td>reviews</td><td>ratings</td></tr>
</table>
<p><a href="productpage?u=normal">Normal user</a></p>
<p><a href="productpage?u=test">Test user</a></p>
</div>`);
}

function page(body: string): string {
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Simple Bookstore App</title>
</head>
<body>
${body}
</body>
</html>
`;
}

function navigation(user: string | undefined): string {
  const account =
    user === undefined
      ? `<form class="sign-in" action="login" method="post">
<input type="text" name="username" placeholder="username">
<input type="password" name="passwd" placeholder="password">
<button type="submit">Sign in</button>
</form>`
      : `<form class="sign-out" action="logout" method="get">
<i class="glyphicon glyphicon-user" aria-hidden="true"></i>
<span class="user">${escapeHtml(user)}</span>
<button type="submit">sign out</button>
</form>`;
  return `<nav class="navbar">
<a class="navbar-brand" href="#">BookInfo Sample</a>
${account}
</nav>`;
}

function detailsList(details: Readonly<Record<string, unknown>>): string {
  const rows = DETAIL_FIELDS.map(
    ([label, key]) => `<dt>${label}:</dt><dd>${escapeHtml(String(details[key] ?? ''))}</dd>`,
  );
  return `<dl>\n${rows.join('\n')}\n</dl>`;
}

function reviewsList(reply: ReviewsReply): string {
  const quotes = reply.reviews.map(
    (review) => `<blockquote>
<p>${escapeHtml(review.text)}</p>
<small>${escapeHtml(review.reviewer)}</small>
${review.rating === undefined ? '' : rating(review.rating)}
</blockquote>`,
  );
  return `${quotes.join('\n')}
<dl>
<dt>Reviews served by:</dt>
<u class="served-by">${escapeHtml(reply.podname)}</u>
</dl>`;
}

function rating(rating: Rating): string {
  if ('error' in rating) return `<p><i>${escapeHtml(rating.error)}</i></p>`;
  const full = '<span class="glyphicon glyphicon-star"></span>'.repeat(rating.stars);
  const empty = '<span class="glyphicon glyphicon-star-empty"></span>'.repeat(5 - rating.stars);
  return `<font color="${escapeHtml(rating.color)}">${full}${empty}</font>`;
}

function failure(section: 'details' | 'reviews', error: string): string {
  return `<h4 class="text-center text-primary">Error fetching product ${section}!</h4>
<p class="error">${escapeHtml(error)}</p>`;
}

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}
