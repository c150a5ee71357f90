/**
 * Kubernetes label selectors, as policies use them to pick workloads.
 *
 * A present selector with no terms selects every workload (Kubernetes' rule). Whether an
 * ABSENT selector means "everything" or "nothing" differs between callers (a policy without
 * a selector covers its whole namespace; a Service without one has no endpoints), so the
 * functions here take a selector that is there and leave absence to the caller.
 */

/** One `matchExpressions` term. Unknown operators select nothing. */
export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | (string & {});
  readonly values?: readonly string[] | undefined;
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>> | undefined;
  readonly matchExpressions?: readonly LabelSelectorRequirement[] | undefined;
}

export type Labels = Readonly<Record<string, string>>;

/** Whether `selector` has no terms at all, and so selects everything. */
export function isEmptySelector(selector: LabelSelector): boolean {
  return (
    Object.keys(selector.matchLabels ?? {}).length === 0 &&
    (selector.matchExpressions ?? []).length === 0
  );
}

/** Whether a workload with `labels` is selected: every term must hold. */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!Object.hasOwn(labels, key) || labels[key] !== value) return false;
  }
  return (selector.matchExpressions ?? []).every((term) => requirementMatches(term, labels));
}

function requirementMatches(term: LabelSelectorRequirement, labels: Labels): boolean {
  const present = Object.hasOwn(labels, term.key);
  const values = term.values ?? [];
  switch (term.operator) {
    case 'In':
      return present && values.includes(labels[term.key] ?? '');
    case 'NotIn':
      // Kubernetes: a missing label satisfies NotIn.
      return !present || !values.includes(labels[term.key] ?? '');
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
    default:
      return false;
  }
}
