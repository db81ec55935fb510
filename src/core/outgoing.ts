import type { MailReference } from './mail';

/**
 * Remote delivery's contract between the RemoteDelivery mailet, the `deliverRemotely` workflow
 * and its SMTP activity. Pure module: imported by workflows.
 */
export interface RemoteDeliverySettings {
  /** Delay before attempt n+1 is `delaysMs[min(n-1, length-1)]` (James `delayTime`). */
  delaysMs: number[];
  /** Retries after the first attempt before a temporary failure becomes permanent (James `maxRetries`). */
  maxRetries: number;
  /** Processor receiving the mail of the permanently failed recipients (James `bounceProcessor`); null: none. */
  bounceProcessor: string | null;
  /** `host[:port]` list tried in order instead of the MX records (James `gateway`). */
  gateway: string[];
  /** Deliver to accepted recipients even when others are refused (James `sendpartial`). */
  sendPartial: boolean;
  /** Attempts that may fail on DNS before the failure is permanent (James `maxDnsProblemRetries`). */
  maxDnsProblemRetries: number;
  /** Name of the queue (search attribute), James `outgoingQueue`. */
  queue: string;
}

/** One destination domain's share of a mail, handed to the outgoing queue. */
export interface OutgoingDelivery {
  mail: MailReference;
  domain: string;
  settings: RemoteDeliverySettings;
}

/** The fate of one recipient in one SMTP attempt. */
export interface RecipientFailure {
  recipient: string;
  /** RFC 3463 enhanced status, e.g. `5.1.1`. */
  status: string;
  /** The server's reply or the local reason. */
  diagnostic: string;
  remoteMta: string | null;
}

export interface SendAttemptResult {
  delivered: string[];
  temporary: RecipientFailure[];
  permanent: RecipientFailure[];
  /** The failure came from DNS (no such domain, no address): counted against maxDnsProblemRetries. */
  dnsProblem: boolean;
  /** The server that answered, when one did. */
  remoteMta: string | null;
}
