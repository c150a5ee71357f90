/** table → chain → its rules in order, each as printed after `-A CHAIN `. */
export type SavedTables = ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;

/**
 * Reads `iptables-save` output. A chain declared (`:NAME …`) but empty is present with no
 * rules; comments, `COMMIT` and anything else (warnings such as "iptables-legacy tables
 * present") are skipped.
 */
export function parseSavedTables(text: string): SavedTables {
  const tables = new Map<string, Map<string, string[]>>();
  let chains: Map<string, string[]> | undefined;
  const chain = (name: string): string[] => {
    let rules = chains!.get(name);
    if (!rules) chains!.set(name, (rules = []));
    return rules;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line.startsWith('*')) {
      chains = new Map();
      tables.set(line.slice(1), chains);
    } else if (!chains) {
      continue;
    } else if (line.startsWith(':')) {
      chain(line.slice(1).split(' ')[0]!);
    } else if (line.startsWith('-A ')) {
      const space = line.indexOf(' ', 3);
      if (space > 0) chain(line.slice(3, space)).push(line.slice(space + 1));
    }
  }
  return tables;
}
