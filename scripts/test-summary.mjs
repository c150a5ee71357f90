// Prints the plain closing line CI reads ("tap: N passed, N failed") from tap's TAP output.
import { readFileSync } from 'node:fs';

const text = readFileSync(process.argv[2], 'utf8');
const totals = [...text.matchAll(/^# \{ total: (\d+), (.*)\}$/gm)].at(-1);
if (!totals) {
  console.log('tap: 0 passed, 1 failed');
  process.exit(0);
}
const field = (name) => Number(new RegExp(`${name}: (\\d+)`).exec(totals[2])?.[1] ?? 0);
const failed = field('fail');
const skipped = field('skip') + field('todo');
console.log(
  `tap: ${field('pass')} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`,
);
