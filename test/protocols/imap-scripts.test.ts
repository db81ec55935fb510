import { readdirSync } from 'node:fs';
import path from 'node:path';
import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import type { Mailbox } from '../../src/mailbox/api/mailbox-store';
import { adminPut, startTestNode, type TestNode } from '../helpers/postflow';
import { runScript } from './imap/script-runner';

const DOMAIN = 'scripts.example';
const PASSWORD = 'correct horse';
const SCRIPTS_DIR = path.join(__dirname, 'imap');
const SCRIPTS = readdirSync(SCRIPTS_DIR)
  .filter((file) => file.endsWith('.txt'))
  .sort();

function message(from: string, subject: string, date: string, body: string): Buffer {
  return Buffer.from([`From: ${from}`, `To: someone@${DOMAIN}`, `Subject: ${subject}`, `Date: ${date}`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', body, ''].join('\r\n'));
}

/** The mailbox every script starts from (stored the way LocalDelivery stores: blob, then message). */
const FIXTURE: Array<{ bytes: Buffer; flags: string[]; internalDate: Date }> = [
  { bytes: message('Bob <bob@remote.example>', 'Lunch', 'Fri, 01 Mar 2024 09:00:00 +0000', 'Shall we meet at noon?'), flags: ['\\Seen'], internalDate: new Date('2024-03-01T10:00:00Z') },
  { bytes: message('carol@remote.example', 'Quarterly report', 'Sat, 02 Mar 2024 09:00:00 +0000', 'Numbers attached.'), flags: ['\\Flagged'], internalDate: new Date('2024-03-02T10:00:00Z') },
  { bytes: message('bob@remote.example', 'Re: Lunch', 'Tue, 05 Mar 2024 09:00:00 +0000', 'Yes, noon.'), flags: [], internalDate: new Date('2024-03-05T10:00:00Z') },
];

/** A multipart/mixed message with a text part and an attached message/rfc822, for part sections. */
const MULTIPART = Buffer.from(
  [
    'From: "Eve Example" <eve@remote.example>',
    'To: a@scripts.example, Group: b@scripts.example;',
    'Subject: Parts',
    'Date: Thu, 07 Mar 2024 09:00:00 +0000',
    'Message-ID: <parts@remote.example>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="XX"',
    '',
    '--XX',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'Hello parts',
    '--XX',
    'Content-Type: message/rfc822',
    'Content-Disposition: attachment; filename="inner.eml"',
    '',
    'Subject: Inner',
    'From: x@remote.example',
    '',
    'Inner body',
    '--XX--',
    '',
  ].join('\r\n'),
);

/** A thread (Message-ID / In-Reply-To / References), a reply under another subject, and an orphan reply (THREAD). */
const THREAD_MESSAGES: Buffer[] = [
  ['Message-ID: <plan@remote.example>', 'Subject: Plan', 'Date: Thu, 07 Mar 2024 09:00:00 +0000'],
  ['Message-ID: <plan-re1@remote.example>', 'In-Reply-To: <plan@remote.example>', 'References: <plan@remote.example>', 'Subject: Re: Plan', 'Date: Fri, 08 Mar 2024 09:00:00 +0000'],
  ['Message-ID: <plan-re2@remote.example>', 'References: <plan@remote.example> <plan-re1@remote.example>', 'Subject: RE: plan', 'Date: Sat, 09 Mar 2024 09:00:00 +0000'],
  ['Message-ID: <aside@remote.example>', 'References: <plan@remote.example>', 'Subject: Something else', 'Date: Sun, 10 Mar 2024 09:00:00 +0000'],
  ['Message-ID: <orphan@remote.example>', 'References: <never-seen@remote.example>', 'Subject: Re: Orphan', 'Date: Mon, 11 Mar 2024 09:00:00 +0000'],
].map((headers) => Buffer.from([`From: fay@remote.example`, `To: someone@${DOMAIN}`, ...headers, '', 'Body.', ''].join('\r\n')));

/** Parts in quoted-printable, base64 and an encoding BINARY cannot remove (RFC 3516). */
const BINARY_MESSAGE = Buffer.from(
  [
    'From: gil@remote.example',
    'Subject: Binary',
    'Date: Tue, 12 Mar 2024 09:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="BB"',
    '',
    '--BB',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'caf=C3=A9 =3D ok',
    '--BB',
    'Content-Type: application/octet-stream',
    'Content-Transfer-Encoding: base64',
    '',
    'AAECAwQ=',
    '--BB',
    'Content-Type: application/x-foo',
    'Content-Transfer-Encoding: x-uuencode',
    '',
    'begin 644 foo',
    '--BB--',
    '',
  ].join('\r\n'),
);

/** Each conversation script of test/protocols/imap/*.txt, against a real node of each profile. */
describe.each(['embedded', 'distributed'] as const)('IMAP conversation scripts on the %s profile', (profile) => {
  let node: TestNode;

  beforeAll(async () => {
    // Ephemeral ports for every listener, so a node of another suite running beside this one cannot collide.
    node = await startTestNode(profile, { smtp: { submissionPort: 0, tlsPort: 0 } });
    expect((await adminPut(node.webadmin, `/domains/${DOMAIN}`)).status).toBe(204);
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
  });

  async function deliver(inbox: Mailbox, bytes: Buffer, flags: string[], internalDate = new Date()): Promise<void> {
    const { blobs, mailboxes } = node.app.backends;
    const stored = await blobs.put(MAIL_BUCKET, bytes);
    await mailboxes.appendMessage(inbox.id, { blobId: stored.blobId, size: stored.size, internalDate, flags });
  }

  it.each(SCRIPTS)('%s', async (file) => {
    const user = `${path.basename(file, '.txt')}@${DOMAIN}`;
    expect((await adminPut(node.webadmin, `/users/${user}`, { password: PASSWORD })).status).toBe(204);
    const { mailboxes } = node.app.backends;
    const inbox = await mailboxes.ensureMailbox(user, 'INBOX');
    for (const { bytes, flags, internalDate } of FIXTURE) await deliver(inbox, bytes, flags, internalDate);
    // A MailboxManager provisions Drafts, Sent, Trash, Junk and Archive with INBOX; a plain store does not.
    for (const name of ['Archive', 'Archive.2024', 'Drafts']) await mailboxes.ensureMailbox(user, name);
    const sizes = Object.fromEntries(FIXTURE.map(({ bytes }, i) => [`SIZE${i + 1}`, String(bytes.length)]));
    await runScript(
      path.join(SCRIPTS_DIR, file),
      node.app.ports.imap as number,
      { USER: user, PASSWORD, UIDVALIDITY: String(inbox.uidValidity), ...sizes },
      {
        deliver: async ([subject]) => deliver(inbox, message('dan@remote.example', subject ?? 'pushed', 'Wed, 06 Mar 2024 09:00:00 +0000', 'Pushed.'), []),
        'deliver-multipart': async () => deliver(inbox, MULTIPART, []),
        'deliver-thread': async () => {
          for (const bytes of THREAD_MESSAGES) await deliver(inbox, bytes, []);
        },
        'deliver-binary': async () => deliver(inbox, BINARY_MESSAGE, []),
        flag: async ([uid, flag]) => void (await mailboxes.addFlags(inbox.id, { from: Number(uid), to: Number(uid) }, [flag])),
      },
    );
  });
});
