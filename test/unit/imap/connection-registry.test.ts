import { ConnectionRegistry } from '../../../src/protocols/imap/connection-registry';
import { ImapNoError } from '../../../src/protocols/imap/errors';

describe('ConnectionRegistry', () => {
  it('refuses an address over its limit until one of its connections closes', () => {
    const registry = new ConnectionRegistry({ perIp: 2, perUser: 5 });
    expect(registry.openFrom('10.0.0.1')).toBe(true);
    expect(registry.openFrom('10.0.0.1')).toBe(true);
    expect(registry.openFrom('10.0.0.1')).toBe(false);
    expect(registry.openFrom('10.0.0.2')).toBe(true);
    registry.closeFrom('10.0.0.1');
    expect(registry.openFrom('10.0.0.1')).toBe(true);
  });

  it('answers NO [LIMIT] to a user over the limit', () => {
    const registry = new ConnectionRegistry({ perIp: 5, perUser: 1 });
    registry.claimUser('alice');
    expect(() => registry.claimUser('alice')).toThrow(ImapNoError);
    registry.releaseUser('alice');
    expect(() => registry.claimUser('alice')).not.toThrow();
    expect(registry.userConnections('alice')).toBe(1);
  });
});
