/**
 * @module One person, one identity: the key per-recipient rules and dedupe count by. Addresses are
 * case-folded; a `+tag` in the local part is dropped (victim+1@ is victim@); where a mail provider
 * ignores dots in the local part (Gmail), so does this (v.i.c.t.i.m@gmail.com is victim@gmail.com);
 * and a domain alias maps to its domain (googlemail.com is gmail.com).
 *
 * Merging addresses can only make a per-recipient rule stricter, never looser, which is why the
 * defaults merge generously. The audit trail and the send itself keep the address as given.
 */

/** How addresses are folded into one identity (the policy's `recipient_identity`). */
export interface RecipientIdentityRules {
  /** Drop a `+tag` from the local part (default true). */
  readonly ignorePlusTags: boolean;
  /** Domains whose mailboxes ignore dots in the local part (default gmail.com, googlemail.com). */
  readonly dotlessDomains: readonly string[];
  /** Domains that are another domain under a second name (default googlemail.com → gmail.com). */
  readonly domainAliases: Readonly<Record<string, string>>;
}

export const DEFAULT_RECIPIENT_IDENTITY: RecipientIdentityRules = {
  ignorePlusTags: true,
  dotlessDomains: ['gmail.com', 'googlemail.com'],
  domainAliases: { 'googlemail.com': 'gmail.com' },
};

/** The identity of an address: who it reaches, as far as per-recipient rules are concerned. */
export function recipientIdentity(address: string, rules: RecipientIdentityRules = DEFAULT_RECIPIENT_IDENTITY): string {
  const folded = address.trim().toLowerCase();
  const at = folded.lastIndexOf('@');
  if (at <= 0) return folded;
  let local = folded.slice(0, at);
  const givenDomain = folded.slice(at + 1);
  const domain = rules.domainAliases[givenDomain] ?? givenDomain;
  if (rules.ignorePlusTags) {
    const plus = local.indexOf('+');
    if (plus > 0) local = local.slice(0, plus);
  }
  if (rules.dotlessDomains.includes(givenDomain) || rules.dotlessDomains.includes(domain)) local = local.replaceAll('.', '') || local;
  return `${local}@${domain}`;
}
