import { AlreadyExistsError, InvalidInputError, PermanentError } from '../core/errors';

/** An error mapping matched (James `ErrorMappingException`): the text is the SMTP-like error to report. */
export class ErrorMappingError extends PermanentError {}

/** Resolution went deeper than the mapping limit, or expanded to too many addresses (James `TooManyMappingException`). */
export class TooManyMappingsError extends PermanentError {}

/**
 * The mapping cannot be added: it would create a loop, or its source is already used for another
 * purpose (a user, a group). WebAdmin answers 409.
 */
export class MappingConflictError extends AlreadyExistsError {}

/** The source's domain is not a local domain (James `SourceDomainIsNotInDomainListException`). */
export class SourceDomainNotManagedError extends InvalidInputError {}
