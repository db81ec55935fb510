import type { ImapCommand } from '../types';
import { openMailbox } from './select';

/** RFC 3501 §6.3.2: SELECT, read-only (FETCH BODY[] does not set \Seen). */
export const examine: ImapCommand = {
  name: 'EXAMINE',
  states: ['authenticated', 'selected'],
  handler: (context) => openMailbox(context, true),
};
