import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import type { EventStore } from '../../src/eventsourcing/api/event-store';
import type { MailboxEvent } from '../../src/events/api/event-bus';
import { OverQuotaError } from '../../src/mailbox/api/errors';
import { ALL_UIDS } from '../../src/mailbox/api/mailbox-store';
import { AnnotationCleanupListener } from '../../src/mailbox/listeners/annotation-cleanup';
import { UNLIMITED } from '../../src/quota/api/quota';
import { QuotaListener } from '../../src/quota/quota-listener';
import { QuotaService as QuotaServiceClass, exceededResource, occupationOf, quotaRootOf, userOfQuotaRoot, type QuotaService } from '../../src/quota/quota-service';
import { createQuotaService } from '../../src/quota/start-quota';
import { QuotaThresholdNotifier, THRESHOLDS_CHANGED, WARNING_SENT, aggregateIdOf, thresholdReached, type ThresholdSettings, type WarningSender } from '../../src/quota/thresholds';
import type { Backends } from '../../src/storage/backends';
import { createEmbeddedBackends } from '../../src/storage/embedded';
import { MATCHERS } from '../../src/mailet/catalogue/matchers';
import { createMailetHarness } from '../../src/mailet/testing';
import { parseSetQuotaList } from '../../src/protocols/imap/commands/quota';
import { ImapBadError, ImapNoError } from '../../src/protocols/imap/errors';
import { parseLimit, parseQuotaObject } from '../../src/webadmin/routes/quota';
import { InvalidInputError } from '../../src/core/errors';
import { capabilitiesFor } from '../../src/protocols/imap/capabilities';

const logger = pino({ level: 'silent' });
const USER = 'bob@quota.example';
const SETTINGS: ThresholdSettings = { thresholds: [0.5, 0.8], subject: 'Quota {{countThreshold}}', body: 'Used {{countUsed}} of {{countLimit}}', from: 'postmaster@quota.example' };

function message(n: number, filler = ''): Buffer {
  return Buffer.from(`From: a@remote.example\r\nTo: ${USER}\r\nSubject: m${n}\r\nMessage-ID: <m${n}-${Math.random()}@remote.example>\r\n\r\nbody ${n} ${filler}\r\n`);
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/**
 * A warning sender that records what it was handed, and can be told to fail. Like the mail queue
 * (one processMail workflow per mail id), it takes a mail id once.
 */
class RecordingSender implements WarningSender {
  readonly sent: Array<{ mailId: string; recipient: string; message: string }> = [];
  handOvers = 0;
  failNext = false;
  async send(mail: { mailId: string; recipient: string; message: Buffer }): Promise<void> {
    this.handOvers++;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('spool unavailable');
    }
    if (this.sent.some((m) => m.mailId === mail.mailId)) return;
    this.sent.push({ ...mail, message: mail.message.toString() });
  }
}

describe('quotas over the embedded backends (SQLite, in-process events)', () => {
  let dir: string;
  let backends: Backends;
  let quota: QuotaService;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'postflow-quota-svc-'));
    backends = await createEmbeddedBackends({ dataDir: dir, logger, eventRetry: { maxRetries: 2, firstBackoffMs: 10 } });
    quota = createQuotaService(backends) as QuotaService;
  });

  afterEach(async () => {
    await backends.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function append(mailboxId: string, bytes: Buffer) {
    const stored = await backends.blobs.put(MAIL_BUCKET, bytes);
    return backends.mailboxes.append(USER, mailboxId, { blobId: stored.blobId, size: stored.size, internalDate: new Date() });
  }

  it('resolves limits user → domain → global, per resource', async () => {
    const store = backends.quotas!;
    await store.setLimit('global', '', 'count', 100);
    await store.setLimit('global', '', 'size', 1000);
    expect((await quota.details(USER)).computed).toEqual({ count: 100, size: 1000 });
    await store.setLimit('domain', 'quota.example', 'count', 50);
    expect((await quota.details(USER)).computed).toEqual({ count: 50, size: 1000 });
    await store.setLimit('user', USER, 'size', UNLIMITED);
    const details = await quota.details(USER);
    expect(details.computed).toEqual({ count: 50, size: UNLIMITED });
    expect(details).toMatchObject({ global: { count: 100, size: 1000 }, domain: { count: 50 }, user: { size: UNLIMITED } });
    // Another domain's users only see the global limits.
    expect((await quota.details('carol@other.example')).computed).toEqual({ count: 100, size: 1000 });
  });

  it('refuses an append over the count or the size limit with OverQuotaError, and stores nothing', async () => {
    await backends.events.registerGroupListener(new QuotaListener(quota, null, logger));
    const inbox = await backends.mailboxes.ensureMailbox(USER, 'INBOX');
    await backends.quotas!.setLimit('user', USER, 'count', 2);
    await append(inbox.id, message(1));
    await append(inbox.id, message(2));
    await eventually(async () => (await backends.quotas!.getUsage(USER)).count === 2, 'usage of 2 messages');
    const err = await append(inbox.id, message(3)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OverQuotaError);
    expect((err as OverQuotaError).resource).toBe('count');
    expect((err as OverQuotaError).code).toBe('OVERQUOTA');
    expect((await backends.mailboxes.listUids(inbox.id)).length).toBe(2);

    await backends.quotas!.setLimit('user', USER, 'count', null);
    const usage = await backends.quotas!.getUsage(USER);
    await backends.quotas!.setLimit('domain', 'quota.example', 'size', usage.size + 10);
    await expect(append(inbox.id, message(4, 'x'.repeat(100)))).rejects.toMatchObject({ resource: 'size' });
    expect(await quota.isOverQuota(USER, 100)).toBe(true);
    expect(await quota.isOverQuota(USER, 10)).toBe(false);
  });

  it('keeps usage right through appends, copies, moves, expunges and mailbox deletion, even when events are replayed', async () => {
    const listener = new QuotaListener(quota, null, logger);
    const seen: MailboxEvent[] = [];
    await backends.events.registerGroupListener(listener);
    await backends.events.registerGroupListener({ group: 'test-recorder', handle: async (e) => void seen.push(e) });
    const inbox = await backends.mailboxes.ensureMailbox(USER, 'INBOX');
    const archive = await backends.mailboxes.ensureMailbox(USER, 'Archive');
    const sizes: number[] = [];
    for (let i = 0; i < 4; i++) sizes.push((await append(inbox.id, message(i, 'y'.repeat(i * 10)))).size);
    const total = sizes.reduce((a, b) => a + b, 0);
    await eventually(async () => (await backends.quotas!.getUsage(USER)).count === 4, '4 messages counted');
    expect(await backends.quotas!.getUsage(USER)).toEqual({ count: 4, size: total });

    await backends.mailboxes.copyMessages(USER, inbox.id, [{ from: 1, to: 1 }], archive.id);
    await backends.mailboxes.moveMessages(USER, inbox.id, [{ from: 2, to: 2 }], archive.id);
    await backends.mailboxes.updateFlags(USER, inbox.id, [{ from: 3, to: 3 }], { mode: 'add', flags: ['\\Deleted'] });
    await backends.mailboxes.expunge(USER, inbox.id);
    // Count alone is 4 before and after (copy +1, expunge -1): wait for the size too.
    const expected = { count: 4, size: total + sizes[0] - sizes[3 - 1] };
    await eventually(async () => JSON.stringify(await backends.quotas!.getUsage(USER)) === JSON.stringify(expected), 'copy +1, expunge -1');
    expect(await backends.quotas!.getUsage(USER)).toEqual(expected);

    // At-least-once delivery: every event handled again changes nothing.
    const before = await backends.quotas!.getUsage(USER);
    for (const event of [...seen]) await listener.handle(event);
    expect(await backends.quotas!.getUsage(USER)).toEqual(before);

    await backends.mailboxes.deleteMailbox(USER, 'Archive');
    await eventually(async () => (await backends.quotas!.getUsage(USER)).count === 2, 'archive deleted');
    const left = await quota.computeUsage(USER);
    expect(await backends.quotas!.getUsage(USER)).toEqual(left);
  });

  it('shares one recompute between the events of a user that arrive while one runs, and fails them together', async () => {
    const listener = new QuotaListener(quota, null, logger);
    const inbox = await backends.mailboxes.ensureMailbox(USER, 'INBOX');
    const events: MailboxEvent[] = [];
    await backends.events.registerGroupListener({ group: 'test-recorder', handle: async (e) => void events.push(e) });
    for (let i = 0; i < 20; i++) await append(inbox.id, message(i));
    await eventually(async () => events.filter((e) => e.type === 'Added').length === 20, '20 Added events');
    const recompute = jest.spyOn(quota, 'recompute');
    try {
      await Promise.all(events.map((e) => listener.handle(e)));
      // All 20 arrived before the recompute started: they share it.
      expect(recompute).toHaveBeenCalledTimes(1);
      expect(await backends.quotas!.getUsage(USER)).toEqual({ count: 20, size: (await quota.computeUsage(USER)).size });

      recompute.mockClear();
      recompute.mockRejectedValueOnce(new Error('store down'));
      const outcomes = await Promise.allSettled(events.slice(0, 5).map((e) => listener.handle(e)));
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected', 'rejected']);
      // A failure leaves nothing behind: the next event recomputes.
      await listener.handle(events[0]);
      expect(recompute).toHaveBeenCalledTimes(2);

      // An event arriving while a recompute runs gets a new one, started after it.
      recompute.mockClear();
      const first = listener.handle(events[0]);
      await new Promise((resolve) => setImmediate(resolve));
      await Promise.all([first, listener.handle(events[1]), listener.handle(events[2])]);
      expect(recompute).toHaveBeenCalledTimes(2);
    } finally {
      recompute.mockRestore();
    }
    await append(inbox.id, message(99));
    await Promise.all([listener.handle({ ...events[0] }), listener.handle({ ...events[1] })]);
    expect((await backends.quotas!.getUsage(USER)).count).toBe(21);
  });

  it('converges when many events of one user are handled concurrently', async () => {
    const listener = new QuotaListener(quota, null, logger);
    const inbox = await backends.mailboxes.ensureMailbox(USER, 'INBOX');
    const events: MailboxEvent[] = [];
    await backends.events.registerGroupListener({ group: 'test-recorder', handle: async (e) => void events.push(e) });
    await Promise.all(Array.from({ length: 10 }, (_, i) => append(inbox.id, message(i))));
    await eventually(async () => events.filter((e) => e.type === 'Added').length === 10, '10 Added events');
    await Promise.all(events.map((e) => listener.handle(e)));
    expect(await backends.quotas!.getUsage(USER)).toEqual(await quota.computeUsage(USER));
    expect((await backends.quotas!.getUsage(USER)).count).toBe(10);
  });

  describe('while messages keep arriving during the recompute', () => {
    /** The user's mailbox counters, with one more message appended after each of the first `churn` reads (deliveries racing the recompute). */
    function churningTotals(inboxId: string, churn: { left: number; onListing?: () => void }) {
      return {
        ownerTotals: async (owner: string) => {
          const listed = await backends.mailboxes.ownerTotals(owner);
          if (churn.left > 0) {
            churn.left--;
            await append(inboxId, message(1000 + churn.left));
          }
          churn.onListing?.();
          return listed;
        },
      };
    }

    it('gives up after the last round when no later recompute is queued (the event is retried)', async () => {
      const inbox = await backends.mailboxes.ensureMailbox(USER, 'INBOX');
      const churning = new QuotaServiceClass(backends.quotas!, churningTotals(inbox.id, { left: 100 }));
      await expect(churning.recompute(USER)).rejects.toThrow(/kept changing/);
      await expect(churning.recompute(USER, { handedOver: () => false })).rejects.toThrow(/kept changing/);
    });

    it('hands over to a queued recompute: no failure, and the usage stored in the end is the mailboxes\' sum', async () => {
      const inbox = await backends.mailboxes.ensureMailbox(USER, 'INBOX');
      const churn: { left: number; onListing?: () => void } = { left: 2 };
      const churning = new QuotaServiceClass(backends.quotas!, churningTotals(inbox.id, churn));
      let asked = 0;
      const read = await churning.recompute(USER, { handedOver: () => ++asked > 0 });
      expect(asked).toBe(1);
      // It stored the first listing (0), then read 1 and stopped: the next recompute stores what it reads.
      expect(read.count).toBe(1);
      expect((await backends.quotas!.getUsage(USER)).count).toBe(0);

      // Through the listener: while the first event's recompute runs, each listing appends a
      // message and a new event arrives (as deliveries do), queueing the next recompute.
      const listener = new QuotaListener(churning, null, logger);
      const event = (n: number): MailboxEvent => ({ type: 'Added', eventId: `e${n}`, user: USER, mailboxId: inbox.id, uids: [n], modSeq: n, messages: [] }) as unknown as MailboxEvent;
      const handled: Array<Promise<void>> = [];
      churn.left = 8;
      churn.onListing = () => {
        if (churn.left > 0) handled.push(listener.handle(event(100 - churn.left)));
      };
      handled.push(listener.handle(event(1)));
      const outcomes = [];
      while (outcomes.length < handled.length) outcomes.push(...(await Promise.allSettled(handled.slice(outcomes.length))));
      expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
      expect(churn.left).toBe(0);
      expect((await backends.quotas!.getUsage(USER)).count).toBe(10);
      expect(await backends.quotas!.getUsage(USER)).toEqual(await quota.computeUsage(USER));
    });
  });

  it('recompute fixes a drifted usage', async () => {
    const inbox = await backends.mailboxes.ensureMailbox(USER, 'INBOX');
    await append(inbox.id, message(1));
    await backends.quotas!.setUsage(USER, { count: 999, size: 5 });
    expect(await quota.recompute(USER)).toEqual(await quota.computeUsage(USER));
    expect((await backends.quotas!.getUsage(USER)).count).toBe(1);
  });

  describe('threshold warnings', () => {
    let events: EventStore;
    let sender: RecordingSender;

    beforeEach(() => {
      events = backends.eventStore!;
      sender = new RecordingSender();
    });

    it('sends one warning per upward crossing, none on the way down, again after going back up', async () => {
      const notifier = new QuotaThresholdNotifier(events, sender, SETTINGS);
      const limits = { count: 10 };
      expect(await notifier.onUsage(USER, limits, { count: 4, size: 0 })).toBeNull();
      expect(sender.sent).toHaveLength(0);
      expect(await notifier.onUsage(USER, limits, { count: 5, size: 0 })).not.toBeNull();
      await notifier.onUsage(USER, limits, { count: 6, size: 0 });
      await notifier.onUsage(USER, limits, { count: 5, size: 0 });
      expect(sender.sent).toHaveLength(1);
      expect(sender.sent[0].recipient).toBe(USER);
      expect(sender.sent[0].message).toContain('Subject: Quota 50%');
      expect(sender.sent[0].message).toContain('Used 5 of 10');
      await notifier.onUsage(USER, limits, { count: 9, size: 0 });
      expect(sender.sent).toHaveLength(2);
      expect(sender.sent[1].message).toContain('Subject: Quota 80%');
      await notifier.onUsage(USER, limits, { count: 2, size: 0 }); // back under every threshold: no mail
      await notifier.onUsage(USER, limits, { count: 8, size: 0 }); // straight to 80 %: one mail
      expect(sender.sent.map((m) => /Subject: (.*)/.exec(m.message)?.[1])).toEqual(['Quota 50%', 'Quota 80%', 'Quota 80%']);
      expect(new Set(sender.sent.map((m) => m.mailId)).size).toBe(3);
    });

    it('does not send again after a restart: the crossing is read back from the event store', async () => {
      await new QuotaThresholdNotifier(events, sender, SETTINGS).onUsage(USER, { count: 10 }, { count: 9, size: 0 });
      const restarted = new QuotaThresholdNotifier(events, sender, SETTINGS);
      await restarted.onUsage(USER, { count: 10 }, { count: 9, size: 0 });
      await restarted.onUsage(USER, { count: 10 }, { count: 10, size: 0 });
      expect(sender.sent).toHaveLength(1);
      expect((await events.getHistory(aggregateIdOf(USER))).map((e) => e.type)).toEqual([THRESHOLDS_CHANGED, WARNING_SENT]);
    });

    it('sends a warning whose hand-over failed on the next event, with the same mail id, once', async () => {
      const notifier = new QuotaThresholdNotifier(events, sender, SETTINGS);
      sender.failNext = true;
      await expect(notifier.onUsage(USER, { count: 10 }, { count: 5, size: 0 })).rejects.toThrow('spool unavailable');
      expect(sender.sent).toHaveLength(0);
      await notifier.onUsage(USER, { count: 10 }, { count: 5, size: 0 });
      await notifier.onUsage(USER, { count: 10 }, { count: 5, size: 0 });
      expect(sender.sent).toHaveLength(1);
      expect(sender.sent[0].mailId).toMatch(new RegExp(`^${aggregateIdOf(USER).replace(/[.]/g, '\\.')}#0@\\d{4}-`));
    });

    it('sends one warning when concurrent handlers see the same crossing', async () => {
      const notifiers = Array.from({ length: 5 }, () => new QuotaThresholdNotifier(events, sender, SETTINGS));
      await Promise.all(notifiers.map((n) => n.onUsage(USER, { size: 1000 }, { count: 1, size: 900 })));
      expect(sender.sent).toHaveLength(1);
      expect(sender.sent[0].message).toContain('Subject: Quota none'); // the count is unlimited: its threshold is none
    });

    it('sends nothing when no threshold is configured or nothing is limited', async () => {
      await new QuotaThresholdNotifier(events, sender, { ...SETTINGS, thresholds: [] }).onUsage(USER, { count: 1 }, { count: 5, size: 0 });
      await new QuotaThresholdNotifier(events, sender, SETTINGS).onUsage(USER, { count: UNLIMITED }, { count: 5000, size: 0 });
      expect(sender.sent).toHaveLength(0);
    });

    it('warns through the usage listener as mails are appended', async () => {
      await backends.quotas!.setLimit('user', USER, 'count', 4);
      await backends.events.registerGroupListener(new QuotaListener(quota, new QuotaThresholdNotifier(events, sender, SETTINGS), logger));
      const inbox = await backends.mailboxes.ensureMailbox(USER, 'INBOX');
      for (let i = 0; i < 4; i++) await append(inbox.id, message(i));
      await eventually(async () => sender.sent.length === 2, 'two warnings (50 %, 80 %)');
      await new Promise((r) => setTimeout(r, 200));
      expect(sender.sent).toHaveLength(2);
    });
  });

  it('cleans up the annotations of a deleted mailbox, and replays harmlessly', async () => {
    const cleanup = new AnnotationCleanupListener(backends.annotations!);
    const box = await backends.mailboxes.createMailbox(USER, 'Notes');
    await backends.mailboxes.setAnnotations(USER, 'Notes', [{ key: '/private/comment', value: 'mine' }, { key: '/shared/comment', value: 'ours' }]);
    // Leftovers of an interrupted deletion: annotations still stored under a mailbox id that is gone.
    await backends.annotations!.setAnnotation('gone-mailbox', '/shared/comment', 'left over');
    const deleted: MailboxEvent = { type: 'MailboxDeleted', eventId: 'e1', user: USER, mailboxId: 'gone-mailbox', mailboxName: 'Gone', messageCount: 0, totalSize: 0 };
    await cleanup.handle(deleted);
    await cleanup.handle(deleted);
    expect((await backends.annotations!.getAnnotations('gone-mailbox')).size).toBe(0);
    expect((await backends.annotations!.getAnnotations(box.id)).size).toBe(2);
    await cleanup.handle({ ...deleted, type: 'MailboxRenamed', oldName: 'a', newName: 'b' } as never);
    expect((await backends.annotations!.getAnnotations(box.id)).size).toBe(2);
  });

  it('refuses a COPY that would exceed the quota, copying nothing', async () => {
    await backends.events.registerGroupListener(new QuotaListener(quota, null, logger));
    const inbox = await backends.mailboxes.ensureMailbox(USER, 'INBOX');
    const archive = await backends.mailboxes.ensureMailbox(USER, 'Archive');
    await append(inbox.id, message(1));
    await append(inbox.id, message(2));
    await eventually(async () => (await backends.quotas!.getUsage(USER)).count === 2, 'usage of 2');
    await backends.quotas!.setLimit('user', USER, 'count', 3);
    await expect(backends.mailboxes.copyMessages(USER, inbox.id, [ALL_UIDS], archive.id)).rejects.toBeInstanceOf(OverQuotaError);
    expect(await backends.mailboxes.listUids(archive.id)).toEqual([]);
    expect(await backends.mailboxes.copyMessages(USER, inbox.id, [{ from: 1, to: 1 }], archive.id)).toHaveLength(1);
    // Moves stay within the owner's mailboxes: they do not change the usage and are not refused.
    await backends.mailboxes.moveMessages(USER, inbox.id, [{ from: 2, to: 2 }], archive.id);
    expect(await backends.mailboxes.listUids(archive.id)).toHaveLength(2);
  });

  it('makes the IsOverQuota matcher pick the recipients over quota', async () => {
    const harness = await createMailetHarness({ localDomains: ['quota.example'], localUsers: [USER, 'carol@quota.example'], services: { isOverQuota: (u, size) => quota.isOverQuota(u, size) } });
    try {
      const matcher = MATCHERS.find((m) => m.name === 'IsOverQuota')!;
      await backends.quotas!.setLimit('user', USER, 'size', 100);
      const mail = await harness.mail('Subject: big\r\n\r\n' + 'z'.repeat(200), { recipients: [USER, 'carol@quota.example', 'remote@elsewhere.example'] });
      expect(await harness.runMatcher(matcher, mail)).toEqual([USER]);
      const small = await harness.mail('Subject: s\r\n\r\nz', { recipients: [USER] });
      expect(await harness.runMatcher(matcher, small)).toEqual([]);
    } finally {
      harness.cleanup();
    }
  });

  it('lists messages of the mailbox after quota refusals unchanged (no partial write)', async () => {
    const inbox = await backends.mailboxes.ensureMailbox(USER, 'INBOX');
    await backends.quotas!.setLimit('global', '', 'count', 0);
    await expect(append(inbox.id, message(1))).rejects.toBeInstanceOf(OverQuotaError);
    const listed = [];
    for await (const m of backends.mailboxes.listMessages(inbox.id, ALL_UIDS)) listed.push(m);
    expect(listed).toHaveLength(0);
  });
});

describe('quota arithmetic', () => {
  it('names the exceeded resource, never an unlimited or undefined one', () => {
    expect(exceededResource({ count: 2 }, { count: 2, size: 0 }, 1, 0)).toBe('count');
    expect(exceededResource({ count: 3 }, { count: 2, size: 0 }, 1, 0)).toBeNull();
    expect(exceededResource({ size: 10 }, { count: 0, size: 5 }, 1, 6)).toBe('size');
    expect(exceededResource({ count: UNLIMITED, size: UNLIMITED }, { count: 1e9, size: 1e15 }, 1, 1)).toBeNull();
    expect(exceededResource({}, { count: 1e9, size: 1e15 }, 1, 1)).toBeNull();
  });

  it('computes James occupation ratios, 0 when unlimited and full for a zero limit', () => {
    expect(occupationOf({ count: 10, size: 1000 }, { count: 5, size: 800 })).toEqual({ count: 5, size: 800, ratio: { count: 0.5, size: 0.8, max: 0.8 } });
    expect(occupationOf({ count: UNLIMITED }, { count: 5, size: 800 }).ratio).toEqual({ count: 0, size: 0, max: 0 });
    expect(occupationOf({ count: 0 }, { count: 1, size: 0 }).ratio.count).toBe(1);
    expect(occupationOf({ count: 0 }, { count: 0, size: 0 }).ratio.count).toBe(0);
  });

  it('maps users to quota roots and back, refusing other roots', () => {
    expect(quotaRootOf('bob@x.example')).toBe('#private&bob@x.example');
    expect(userOfQuotaRoot('#private&bob@x.example')).toBe('bob@x.example');
    expect(userOfQuotaRoot('#private&')).toBeNull();
    expect(userOfQuotaRoot('bob@x.example')).toBeNull();
  });

  it('finds the highest threshold reached', () => {
    expect(thresholdReached([0.8, 0.95], 0.79)).toBe(0);
    expect(thresholdReached([0.8, 0.95], 0.8)).toBe(0.8);
    expect(thresholdReached([0.95, 0.8], 1.2)).toBe(0.95);
  });

  it('parses WebAdmin limits: bare or JSON numbers, -1 unlimited, nothing else', () => {
    expect(parseLimit('100')).toBe(100);
    expect(parseLimit(' 0 ')).toBe(0);
    expect(parseLimit(-1)).toBe(UNLIMITED);
    for (const bad of ['-2', 'abc', '1e3', '', null, {}, 1.5, 2 ** 60]) expect(() => parseLimit(bad)).toThrow(InvalidInputError);
    expect(parseQuotaObject({ count: 5, size: null })).toEqual({ count: 5 });
    expect(parseQuotaObject('{"size": -1}')).toEqual({ size: UNLIMITED });
    for (const bad of ['{', '[]', { count: '5' }, { other: 1 }, { size: -3 }, null]) expect(() => parseQuotaObject(bad)).toThrow(InvalidInputError);
  });

  it('parses SETQUOTA lists in 1024-octet STORAGE units and refuses the rest', () => {
    const atom = (value: string) => ({ type: 'atom' as const, value });
    expect(parseSetQuotaList([atom('STORAGE'), atom('512'), atom('message'), atom('100')])).toEqual({ size: 512 * 1024, count: 100 });
    expect(parseSetQuotaList([])).toEqual({ size: null, count: null });
    expect(() => parseSetQuotaList([atom('STORAGE')])).toThrow(ImapBadError);
    expect(() => parseSetQuotaList([atom('STORAGE'), atom('-1')])).toThrow(ImapBadError);
    expect(() => parseSetQuotaList([atom('STORAGE'), atom('1'), atom('STORAGE'), atom('2')])).toThrow(ImapBadError);
    expect(() => parseSetQuotaList([atom('MAILBOX'), atom('1')])).toThrow(ImapNoError);
    expect(() => parseSetQuotaList([atom('STORAGE'), atom('99999999999999999')])).toThrow(ImapBadError);
  });
});

describe('IMAP QUOTA capabilities', () => {
  it('advertises QUOTA and its resources only when quotas are wired on a mailbox manager', () => {
    const quotaCaps = ['QUOTA', 'QUOTA=RES-STORAGE', 'QUOTA=RES-MESSAGE', 'QUOTASET'];
    expect(capabilitiesFor('authenticated', { idle: true, manager: true, quota: true })).toEqual(expect.arrayContaining(quotaCaps));
    for (const context of [{ idle: true, manager: true }, { idle: true, manager: false, quota: true }]) {
      const caps = capabilitiesFor('authenticated', context);
      expect(caps.filter((c) => c.startsWith('QUOTA'))).toEqual([]);
    }
  });
});
