import type { MessageSummary } from '../../../mime/parsed-message';
import { ImapBadError } from '../errors';
import { ok, type TaggedResult } from '../response';
import { parseSearch } from '../search/parse';
import type { CommandContext, ImapCommand } from '../types';
import { atomArg } from './args';
import { forEachMatch } from './search';

/** RFC 5256 §3 algorithms this server implements (advertised as THREAD=…). */
export const THREAD_ALGORITHMS = ['ORDEREDSUBJECT', 'REFERENCES'] as const;
type Algorithm = (typeof THREAD_ALGORITHMS)[number];

/** What threading needs of one matching message (from the parsed data stored at append). */
export interface ThreadInput {
  /** The number the response names: sequence number or UID. */
  id: number;
  /** Sequence number (ties of equal dates keep mailbox order). */
  sequence: number;
  /** Sent date (RFC 5256 §2.2), else the internal date, ms. */
  date: number;
  messageId: string | null;
  /** References, else In-Reply-To (RFC 5256 §3 REFERENCES step 1A). */
  references: string[];
  baseSubject: string;
  /** The subject had a reply/forward prefix (`Re:`, `Fwd:`) that was removed to get the base subject. */
  isReply: boolean;
}

/** A node of a thread tree; `message` is null for a dummy (a referenced message that is not in the set). */
interface Container {
  message: ThreadInput | null;
  parent: Container | null;
  children: Container[];
}

/** RFC 5256 §2.1 steps (2) and (5): a subject that was a reply or forward. */
const REPLY_PREFIX = /^\s*((re|fwd?|fw)\s*(\[[^\]]*\])?\s*:|\[fwd:)/i;

export function threadInputOf(id: number, sequence: number, internalDate: Date, summary: MessageSummary | undefined): ThreadInput {
  const threading = summary?.threading;
  const sent = summary?.envelope.date ? Date.parse(summary.envelope.date) : NaN;
  const subject = summary?.envelope.subject ?? '';
  return {
    id,
    sequence,
    date: Number.isNaN(sent) ? internalDate.getTime() : sent,
    messageId: threading?.messageId ?? null,
    references: threading ? (threading.references.length > 0 ? threading.references : threading.inReplyTo.slice(0, 1)) : [],
    baseSubject: threading?.baseSubject ?? '',
    isReply: REPLY_PREFIX.test(subject) || /\(fwd\)\s*$/i.test(subject),
  };
}

function byDate(a: Container, b: Container): number {
  const x = firstMessage(a);
  const y = firstMessage(b);
  return x.date - y.date || x.sequence - y.sequence;
}

/** The message of a node, or of its first child for a dummy (RFC 5256 §2.2 step 4 sorting). */
function firstMessage(node: Container): ThreadInput {
  if (node.message) return node.message;
  const sorted = [...node.children].sort(byDate);
  return firstMessage(sorted[0]);
}

function isAncestor(candidate: Container, node: Container): boolean {
  for (let at: Container | null = node; at; at = at.parent) if (at === candidate) return true;
  return false;
}

function link(child: Container, parent: Container): void {
  if (child.parent === parent || isAncestor(child, parent)) return;
  if (child.parent) child.parent.children = child.parent.children.filter((c) => c !== child);
  child.parent = parent;
  parent.children.push(child);
}

/** RFC 5256 §3 ORDEREDSUBJECT: by base subject; the first message (by sent date) is the parent of the others. */
export function threadOrderedSubject(messages: readonly ThreadInput[]): Container[] {
  const groups = new Map<string, ThreadInput[]>();
  for (const message of messages) {
    const group = groups.get(message.baseSubject) ?? [];
    group.push(message);
    groups.set(message.baseSubject, group);
  }
  const roots: Container[] = [];
  for (const group of groups.values()) {
    group.sort((a, b) => a.date - b.date || a.sequence - b.sequence);
    const root: Container = { message: group[0], parent: null, children: [] };
    for (const message of group.slice(1)) root.children.push({ message, parent: root, children: [] });
    roots.push(root);
  }
  return roots.sort(byDate);
}

/** RFC 5256 §3 REFERENCES (the algorithm of Jamie Zawinski, with the RFC's subject merging rules). */
export function threadReferences(messages: readonly ThreadInput[]): Container[] {
  const table = new Map<string, Container>();
  const containers: Container[] = [];
  // Step 1: a container per message and per referenced Message-ID, linked along the references.
  for (const message of messages) {
    let own: Container;
    const existing = message.messageId !== null ? table.get(message.messageId) : undefined;
    if (existing && existing.message === null) {
      own = existing;
      own.message = message;
    } else {
      // No Message-ID, or a duplicate: a container of its own (RFC 5256 step 1A).
      own = { message, parent: null, children: [] };
      if (message.messageId !== null && !existing) table.set(message.messageId, own);
    }
    containers.push(own);
    let previous: Container | null = null;
    for (const id of message.references) {
      let node = table.get(id);
      if (!node) {
        node = { message: null, parent: null, children: [] };
        table.set(id, node);
      }
      if (previous && !node.parent && node !== previous) link(node, previous);
      previous = node;
    }
    // Step 1C: the last reference is the parent of the message (its earlier parent link is dropped).
    if (previous && previous !== own && !isAncestor(own, previous)) link(own, previous);
    else if (own.parent && message.references.length === 0) {
      own.parent.children = own.parent.children.filter((c) => c !== own);
      own.parent = null;
    }
  }
  // Step 2: the root set.
  const all = new Set<Container>([...table.values(), ...containers]);
  let roots = [...all].filter((c) => c.parent === null);
  // Step 3: prune dummies.
  const prune = (nodes: Container[], atRoot: boolean): Container[] => {
    const out: Container[] = [];
    for (const node of nodes) {
      node.children = prune(node.children, false);
      for (const child of node.children) child.parent = node;
      if (node.message) {
        out.push(node);
      } else if (node.children.length === 0) {
        continue;
      } else if (!atRoot || node.children.length === 1) {
        for (const child of node.children) child.parent = node.parent;
        out.push(...node.children);
      } else {
        out.push(node);
      }
    }
    return out;
  };
  roots = prune(roots, true);
  for (const root of roots) root.parent = null;
  // Step 5: merge threads of the same base subject.
  const subjectOf = (node: Container): { subject: string; isReply: boolean } => {
    if (node.message) return { subject: node.message.baseSubject, isReply: node.message.isReply };
    const first = [...node.children].sort(byDate)[0];
    return { subject: first.message?.baseSubject ?? subjectOf(first).subject, isReply: first.message?.isReply ?? false };
  };
  const bySubject = new Map<string, Container>();
  for (const root of roots) {
    const { subject, isReply } = subjectOf(root);
    if (subject === '') continue;
    const held = bySubject.get(subject);
    if (!held || (held.message !== null && root.message === null) || (held.message !== null && subjectOf(held).isReply && !isReply)) bySubject.set(subject, root);
  }
  const merged: Container[] = [];
  for (const root of roots) {
    // Already merged under another root's dummy.
    if (root.parent) continue;
    const { subject, isReply } = subjectOf(root);
    const held = subject === '' ? undefined : bySubject.get(subject);
    if (!held || held === root) {
      merged.push(root);
      continue;
    }
    const heldReply = subjectOf(held).isReply;
    if (held.message === null && root.message === null) {
      for (const child of [...root.children]) link(child, held);
    } else if (held.message === null) {
      link(root, held);
    } else if (!heldReply && isReply) {
      link(root, held);
    } else {
      // Neither is a dummy and both (or neither) are replies: a new dummy holds both (step 5C iii).
      const dummy: Container = { message: null, parent: null, children: [] };
      const index = merged.indexOf(held);
      link(held, dummy);
      link(root, dummy);
      if (index !== -1) merged[index] = dummy;
      bySubject.set(subject, dummy);
      if (index === -1) merged.push(dummy);
    }
  }
  const result = merged.filter((root) => root.parent === null);
  // Step 4/6: children and roots by sent date.
  const sortTree = (node: Container): void => {
    node.children.sort(byDate);
    node.children.forEach(sortTree);
  };
  result.forEach(sortTree);
  return result.sort(byDate);
}

/** The members of one node: `1 2 3` along a chain, `1 (2)(3)` where it branches. */
function members(node: Container): string {
  const children = node.children;
  const head = node.message ? String(node.message.id) : '';
  if (children.length === 0) return head;
  if (children.length === 1 && node.message) return `${head} ${members(children[0])}`;
  const nested = children.map((child) => `(${members(child)})`).join('');
  return head ? `${head} ${nested}` : nested;
}

/** `* THREAD` data (RFC 5256 §4): one parenthesized list per thread. */
export function formatThreads(roots: readonly Container[]): string {
  return roots.map((root) => `(${members(root)})`).join('');
}

/**
 * THREAD and UID THREAD (RFC 5256). The search keys are those of SEARCH; threads are computed
 * from the threading keys (Message-ID, References, In-Reply-To, base subject, sent date) parsed
 * and stored at append. Only those keys of the matching messages are held in memory.
 */
export async function runThread({ args, session }: CommandContext, byUid: boolean): Promise<TaggedResult> {
  if (args.length < 3) throw new ImapBadError('Usage: THREAD <algorithm> <charset> <search keys>', 'CLIENTBUG');
  const algorithm = atomArg(args[0], 'threading algorithm').toUpperCase();
  if (!(THREAD_ALGORITHMS as readonly string[]).includes(algorithm)) throw new ImapBadError(`Unknown threading algorithm ${algorithm.slice(0, 30)}`, 'CLIENTBUG');
  const charset = atomArg(args[1], 'charset');
  const request = parseSearch([{ type: 'atom', value: 'CHARSET' }, { type: 'atom', value: charset }, ...args.slice(2)]);
  const inputs: ThreadInput[] = [];
  await forEachMatch(session, request.key, true, (sequence, message) => {
    inputs.push(threadInputOf(byUid ? message.uid : sequence, sequence, message.internalDate, message.parsed));
  });
  const roots = (algorithm as Algorithm) === 'REFERENCES' ? threadReferences(inputs) : threadOrderedSubject(inputs);
  const data = formatThreads(roots);
  await session.untagged(`THREAD${data ? ' ' : ''}${data}`);
  return ok(`${byUid ? 'UID THREAD' : 'THREAD'} completed`);
}

export const thread: ImapCommand = {
  name: 'THREAD',
  states: ['selected'],
  needsManager: true,
  handler: (context) => runThread(context, false),
};
