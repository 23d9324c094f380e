// The tiers of crates/core/data/tiers.json, key and display name in the file's order: the choices
// of the tier override in Settings. Copied rather than bundled, because the file also carries
// limits and sources the page does not need; `npm test` fails when this list and the file differ.

export interface TierName {
  key: string;
  name: string;
}

export const TIERS: readonly TierName[] = [
  { key: "tier-1", name: "Tier 1" },
  { key: "tier-2", name: "Tier 2" },
  { key: "tier-3", name: "Tier 3" },
  { key: "tier-4", name: "Tier 4" },
  { key: "monthly-invoicing", name: "Monthly invoicing" },
  { key: "evaluation", name: "Evaluation" },
  { key: "start", name: "Start" },
  { key: "build", name: "Build" },
  { key: "scale", name: "Scale" },
  { key: "custom", name: "Custom" },
];

/**
 * A tier's key from a key or a name, as `tier_key` in crates/core/src/catalog.rs reads it:
 * "Tier 2", "tier_2" and "TIER2" are all "tier-2"; "Monthly invoicing" is "monthly-invoicing".
 */
export function tierKey(name: string): string {
  const key = name.trim().toLowerCase().replace(/[ _]/g, "-");
  const number = key.startsWith("tier") ? key.slice(4) : "";
  return number !== "" && /^[0-9]+$/.test(number) ? `tier-${number}` : key;
}

/** The known tier a key or name stands for, or null. */
export function findTier(name: string): TierName | null {
  const key = tierKey(name);
  return TIERS.find((tier) => tier.key === key) ?? null;
}
