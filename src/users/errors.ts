import { PermanentError } from '../core/errors';

/** The users directory is read-only (LDAP): accounts are managed in the directory itself. */
export class ReadOnlyDirectoryError extends PermanentError {}
