export { createImapServer, type ImapServer, type ImapServerOptions } from './server';
export type { ImapDeps } from './types';
