import { ImapBadError, ImapNoError } from '../errors';
import type { ImapCommand } from '../types';
import { atomArg, expectArgs } from './args';
import { completeLogin } from './login';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** RFC 3501 §6.2.2 with the PLAIN mechanism (RFC 4616) and an optional initial response (RFC 4959 SASL-IR). */
export const authenticate: ImapCommand = {
  name: 'AUTHENTICATE',
  states: ['not-authenticated'],
  async handler({ args, session }) {
    expectArgs(args, 1, 2, 'AUTHENTICATE <mechanism> [<initial response>]');
    const mechanism = atomArg(args[0], 'mechanism').toUpperCase();
    if (mechanism !== 'PLAIN') throw new ImapNoError(`Unsupported authentication mechanism ${mechanism}`);
    let response = args.length === 2 ? atomArg(args[1], 'initial response') : await session.readContinuation('');
    if (response === null) throw new ImapBadError('Invalid authentication response');
    if (response === '*') throw new ImapBadError('Authentication cancelled');
    // RFC 4959: "=" is an empty initial response.
    if (response === '=') response = '';
    if (!BASE64.test(response)) throw new ImapBadError('Invalid base64 in authentication response');
    const fields = Buffer.from(response, 'base64').toString('utf8').split('\0');
    if (fields.length !== 3 || fields[1] === '') throw new ImapBadError('Invalid PLAIN authentication response');
    const [authorizationId, username, password] = fields;
    // A different authorization identity means acting as that account: allowed when it delegated to the user.
    return completeLogin(session, username, password, 'AUTHENTICATE', authorizationId !== '' && authorizationId !== username ? authorizationId : undefined);
  },
};
