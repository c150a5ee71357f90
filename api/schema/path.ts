/**
 * Field paths as users read them: `spec.http[0].route[1].weight`. Keys that are not plain
 * identifiers (label keys such as `app.kubernetes.io/name`) are written `["…"]`, so a path
 * can always be split back into its segments to find the field's line in a YAML file.
 */
export type PathSegment = string | number;

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Appends `rel` (itself a path, possibly empty or starting with `[`) to `base`. */
export function joinPath(base: string, rel: string): string {
  if (rel === '') return base;
  if (base === '' || rel.startsWith('[')) return base + rel;
  return `${base}.${rel}`;
}

/** The path of a key inside an object or map at `base`. */
export function keyPath(base: string, key: string): string {
  if (PLAIN_KEY.test(key)) return base === '' ? key : `${base}.${key}`;
  return `${base}[${JSON.stringify(key)}]`;
}

/** The path of an array item at `base`. */
export function indexPath(base: string, index: number): string {
  return `${base}[${index}]`;
}

/** Splits a path made by the functions above into its keys and indexes. */
export function parsePath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  let i = 0;
  while (i < path.length) {
    const c = path[i];
    if (c === '.') {
      i++;
      continue;
    }
    if (c === '[') {
      if (path[i + 1] === '"') {
        // A JSON string literal: find its closing quote, skipping escaped characters.
        let j = i + 2;
        while (j < path.length && path[j] !== '"') j += path[j] === '\\' ? 2 : 1;
        segments.push(JSON.parse(path.slice(i + 1, j + 1)) as string);
        i = j + 2;
      } else {
        const end = path.indexOf(']', i);
        const stop = end < 0 ? path.length : end;
        segments.push(Number(path.slice(i + 1, stop)));
        i = stop + 1;
      }
      continue;
    }
    let j = i;
    while (j < path.length && path[j] !== '.' && path[j] !== '[') j++;
    segments.push(path.slice(i, j));
    i = j;
  }
  return segments;
}
