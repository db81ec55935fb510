import { ErrorMappingError, TooManyMappingsError } from '../../rrt/errors';
import type { RecipientRewriteTable } from '../../rrt/recipient-rewrite-table';

/** What RCPT TO needs to decide on a recipient of a local domain (James' ValidRcptHandler). */
export interface RecipientPolicyDeps {
  isLocalDomain(domain: string): Promise<boolean>;
  userExists(address: string): Promise<boolean>;
  rrt: RecipientRewriteTable;
}

export type RecipientDecision = { accept: true } | { accept: false; code: number; message: string };

/**
 * Recipients of other domains are accepted (the processor graph judges relay). For a local domain,
 * the recipient must be a user or rewritten by the recipient rewrite table (alias, forward, group,
 * domain alias…); an error mapping is refused now with its text. A rewriting loop is accepted: the
 * mail then lands in the `rrt-error` repository where an operator sees it.
 */
export async function decideRecipient(deps: RecipientPolicyDeps, address: string, domain: string): Promise<RecipientDecision> {
  if (!(await deps.isLocalDomain(domain))) return { accept: true };
  try {
    if ((await deps.rrt.resolve(address)).length > 0) return { accept: true };
  } catch (err) {
    if (err instanceof ErrorMappingError) return { accept: false, code: 550, message: `5.1.1 <${address}>: ${err.message}` };
    if (err instanceof TooManyMappingsError) return { accept: true };
    throw err;
  }
  if (await deps.userExists(address)) return { accept: true };
  return { accept: false, code: 550, message: `5.1.1 <${address}>: Recipient address rejected: User unknown` };
}
