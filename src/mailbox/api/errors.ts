import { AlreadyExistsError, InvalidInputError, NotFoundError, PermanentError } from '../../core/errors';

/**
 * Response codes of RFC 5530 (and RFC 9051 `HASCHILDREN`, RFC 5464 `METADATA`) that the IMAP edge
 * puts in its `NO [CODE]`; JMAP and WebAdmin map them to their own errors.
 */
export type MailboxErrorCode = 'NONEXISTENT' | 'ALREADYEXISTS' | 'NOPERM' | 'CANNOT' | 'HASCHILDREN' | 'LIMIT' | 'METADATA TOOMANY' | 'METADATA MAXSIZE' | 'OVERQUOTA' | 'USEATTR';

/** Every mailbox error carries the response code the protocols answer with. */
export interface CodedMailboxError {
  readonly code: MailboxErrorCode;
}

export class MailboxNotFoundError extends NotFoundError implements CodedMailboxError {
  readonly code = 'NONEXISTENT' as const;
}

export class MailboxExistsError extends AlreadyExistsError implements CodedMailboxError {
  readonly code = 'ALREADYEXISTS' as const;
}

/**
 * Another mailbox of the owner holds the special-use role (RFC 6154 §3 `USEATTR`): a role names
 * one mailbox per user (the JMAP model), enforced by the store even between concurrent creates.
 */
export class MailboxRoleTakenError extends AlreadyExistsError implements CodedMailboxError {
  readonly code = 'USEATTR' as const;
}

/** Empty, too long, too deep, bad characters, delimiter abuse (`a..b`, `.a`, `a.`). */
export class InvalidMailboxNameError extends InvalidInputError implements CodedMailboxError {
  readonly code = 'CANNOT' as const;
}

/** The user lacks an RFC 4314 right for the operation. */
export class NoRightError extends PermanentError implements CodedMailboxError {
  readonly code = 'NOPERM' as const;
  constructor(
    message: string,
    readonly right: string,
  ) {
    super(message);
  }
}

/** A mailbox with children cannot be deleted (James semantics; RFC 9051 §7.1 HASCHILDREN). */
export class HasChildrenError extends PermanentError implements CodedMailboxError {
  readonly code = 'HASCHILDREN' as const;
}

/** An operation the model forbids: delete INBOX, rename into its own child, move between owners… */
export class MailboxOperationError extends PermanentError implements CodedMailboxError {
  readonly code = 'CANNOT' as const;
}

/** A flag, keyword, ACL or annotation value outside the limits. */
export class MailboxLimitError extends InvalidInputError implements CodedMailboxError {
  constructor(
    message: string,
    readonly code: 'LIMIT' | 'METADATA TOOMANY' | 'METADATA MAXSIZE' = 'LIMIT',
  ) {
    super(message);
  }
}

/** Storing the message would exceed the owner's quota (RFC 9208 §4.3 `OVERQUOTA`; James OverQuotaException). */
export class OverQuotaError extends PermanentError implements CodedMailboxError {
  readonly code = 'OVERQUOTA' as const;
  constructor(
    message: string,
    /** The resource that would be exceeded: message count or size in octets. */
    readonly resource: 'count' | 'size',
  ) {
    super(message);
  }
}

/** The response code of a mailbox error, or undefined for any other error. */
export function mailboxErrorCode(err: unknown): MailboxErrorCode | undefined {
  if (err instanceof Error && 'code' in err) {
    const code = (err as Partial<CodedMailboxError>).code;
    if (
      err instanceof MailboxNotFoundError ||
      err instanceof MailboxExistsError ||
      err instanceof MailboxRoleTakenError ||
      err instanceof InvalidMailboxNameError ||
      err instanceof NoRightError ||
      err instanceof HasChildrenError ||
      err instanceof MailboxOperationError ||
      err instanceof MailboxLimitError ||
      err instanceof OverQuotaError
    ) {
      return code;
    }
  }
  return undefined;
}
