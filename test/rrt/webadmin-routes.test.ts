import type { FastifyInstance } from 'fastify';
import type { IdentityServices } from '../../src/users/identity';
import { webAdminFixture } from './rrt-fixture';

/**
 * WebAdmin recipient-rewriting routes with James' paths and JSON shapes. The requests and bodies
 * quote the examples of James' WebAdmin documentation (docs/modules/servers/partials/operate/webadmin.adoc).
 */
describe('WebAdmin recipient rewriting routes (James shapes)', () => {
  let app: FastifyInstance;
  let identity: IdentityServices;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ app, identity, cleanup } = await webAdminFixture(['domain.tld', 'domain.com', 'destination.domain.tld', 'source1.domain.tld', 'source2.domain.tld', 'james.apache.org']));
    for (const user of ['user@domain.tld', 'user@domain.com', 'user1@domain.com', 'member1@domain.com', 'member2@domain.com']) {
      expect((await app.inject({ method: 'PUT', url: `/users/${user}`, payload: { password: 'secret' } })).statusCode).toBe(204);
    }
  });

  afterEach(async () => {
    await cleanup();
  });

  const call = (method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, payload?: string) =>
    app.inject({ method, url, payload, headers: payload === undefined ? {} : { 'content-type': 'text/plain' } });

  it('manages groups: GET /address/groups → ["group1@domain.com", …], members as strings', async () => {
    expect((await call('PUT', '/address/groups/group1@domain.com/member1@domain.com')).statusCode).toBe(204);
    expect((await call('PUT', '/address/groups/group1@domain.com/member2@domain.com')).statusCode).toBe(204);
    expect((await call('PUT', '/address/groups/group2@domain.com/member1@domain.com')).statusCode).toBe(204);
    expect((await call('GET', '/address/groups')).json()).toEqual(['group1@domain.com', 'group2@domain.com']);
    expect((await call('GET', '/address/groups/group1@domain.com')).json()).toEqual(['member1@domain.com', 'member2@domain.com']);
    expect((await call('DELETE', '/address/groups/group1@domain.com/member2@domain.com')).statusCode).toBe(204);
    expect((await call('GET', '/address/groups/group1@domain.com')).json()).toEqual(['member1@domain.com']);
    expect((await call('GET', '/address/groups/nogroup@domain.com')).json()).toMatchObject({ statusCode: 404, type: 'notFound' });
    expect((await call('DELETE', '/address/groups')).statusCode).toBe(204);
    expect((await call('GET', '/address/groups')).json()).toEqual([]);
  });

  it('refuses a group member that is not an address (400), a group of an unmanaged domain (400) and a group shadowing a user (409)', async () => {
    expect((await call('PUT', '/address/groups/group@domain.com/not-an-address')).json()).toMatchObject({ statusCode: 400, type: 'InvalidArgument' });
    expect((await call('PUT', '/address/groups/group@unknown.tld/member1@domain.com')).json()).toMatchObject({ statusCode: 400, message: expect.stringContaining('not managed') });
    expect((await call('PUT', '/address/groups/user@domain.com/member1@domain.com')).json()).toMatchObject({ statusCode: 409, type: 'WrongState' });
  });

  it('manages forwards: destinations as [{"mailAddress": …}], 404 for a user without forwards or a non-user', async () => {
    expect((await call('PUT', '/address/forwards/user@domain.com/targets/destination1@domain.com')).statusCode).toBe(204);
    expect((await call('PUT', '/address/forwards/user@domain.com/targets/destination2@domain.com')).statusCode).toBe(204);
    expect((await call('GET', '/address/forwards')).json()).toEqual(['user@domain.com']);
    expect((await call('GET', '/address/forwards/user@domain.com')).json()).toEqual([{ mailAddress: 'destination1@domain.com' }, { mailAddress: 'destination2@domain.com' }]);
    expect((await call('GET', '/address/forwards/user1@domain.com')).statusCode).toBe(404);
    expect((await call('PUT', '/address/forwards/nobody@domain.com/targets/destination@domain.com')).statusCode).toBe(404);
    expect((await call('DELETE', '/address/forwards/user@domain.com/targets/destination1@domain.com')).statusCode).toBe(204);
    expect((await call('GET', '/address/forwards/user@domain.com')).json()).toEqual([{ mailAddress: 'destination2@domain.com' }]);
  });

  it('manages aliases: GET /address/aliases/user@domain.com → [{"source": "alias1@domain.com"}, …]', async () => {
    expect((await call('PUT', '/address/aliases/user@domain.com/sources/alias1@domain.com')).statusCode).toBe(204);
    expect((await call('PUT', '/address/aliases/user@domain.com/sources/alias2@domain.com')).statusCode).toBe(204);
    expect((await call('GET', '/address/aliases')).json()).toEqual(['user@domain.com']);
    expect((await call('GET', '/address/aliases/user@domain.com')).json()).toEqual([{ source: 'alias1@domain.com' }, { source: 'alias2@domain.com' }]);
    expect((await call('PUT', '/address/aliases/user@domain.com/sources/user@domain.com')).json()).toMatchObject({ statusCode: 400, message: "Source and destination can't be the same!" });
    expect((await call('PUT', '/address/aliases/user@domain.com/sources/user1@domain.com')).json()).toMatchObject({ statusCode: 409, type: 'WrongState' });
    expect((await call('PUT', '/address/aliases/user@unknown.tld/sources/alias3@domain.com')).statusCode).toBe(400);
    expect((await call('DELETE', '/address/aliases/user@domain.com/sources/alias1@domain.com')).statusCode).toBe(204);
    expect((await call('GET', '/address/aliases/user@domain.com')).json()).toEqual([{ source: 'alias2@domain.com' }]);
  });

  it('refuses with 409 an alias or forward that would lead to a loop', async () => {
    expect((await call('PUT', '/address/aliases/user@domain.com/sources/alias1@domain.com')).statusCode).toBe(204);
    const loop = await call('PUT', '/address/forwards/user@domain.com/targets/alias1@domain.com');
    expect(loop.statusCode).toBe(409);
    expect(loop.json()).toEqual({ statusCode: 409, type: 'WrongState', message: expect.stringContaining('loop'), details: null });
  });

  it('manages domain aliases: GET /domains/destination.domain.tld/aliases → [{"source": "source1.domain.tld"}, …]', async () => {
    expect((await call('PUT', '/domains/destination.domain.tld/aliases/source1.domain.tld')).statusCode).toBe(204);
    expect((await call('PUT', '/domains/destination.domain.tld/aliases/source2.domain.tld')).statusCode).toBe(204);
    expect((await call('GET', '/domains/destination.domain.tld/aliases')).json()).toEqual([{ source: 'source1.domain.tld' }, { source: 'source2.domain.tld' }]);
    expect((await call('PUT', '/domains/destination.domain.tld/aliases/destination.domain.tld')).statusCode).toBe(400);
    expect((await call('PUT', '/domains/destination.domain.tld/aliases/unhandled.tld')).statusCode).toBe(404);
    expect((await call('GET', '/domains/unhandled.tld/aliases')).statusCode).toBe(404);
    expect((await call('GET', '/domains/bad_domain!/aliases')).statusCode).toBe(400);
    expect((await call('DELETE', '/domains/destination.domain.tld/aliases/source1.domain.tld')).statusCode).toBe(204);
    expect((await call('GET', '/domains/destination.domain.tld/aliases')).json()).toEqual([{ source: 'source2.domain.tld' }]);
  });

  it('manages domain mappings: PUT /domainMappings/{from} with the destination as body', async () => {
    expect((await call('PUT', '/domainMappings/james.apache.org', 'james.org')).statusCode).toBe(204);
    expect((await call('PUT', '/domainMappings/james.apache.org', 'apache-james.org')).statusCode).toBe(204);
    expect((await call('GET', '/domainMappings')).json()).toEqual({ 'james.apache.org': ['apache-james.org', 'james.org'] });
    expect((await call('GET', '/domainMappings/james.apache.org')).json()).toEqual(['apache-james.org', 'james.org']);
    expect(await identity.rrt.rewriteRecipient('admin@james.apache.org')).toEqual(['admin@apache-james.org', 'admin@james.org']);
    expect((await call('GET', '/domainMappings/domain.tld')).statusCode).toBe(404);
    expect((await call('PUT', '/domainMappings/james.apache.org', 'not a domain')).statusCode).toBe(400);
    expect((await call('DELETE', '/domainMappings/james.apache.org', 'james.org')).statusCode).toBe(204);
    expect((await call('GET', '/domainMappings/james.apache.org')).json()).toEqual(['apache-james.org']);
  });

  it('adds the regex mapping of James\' example and lists everything under GET /mappings', async () => {
    expect((await call('POST', `/mappings/regex/james@domain.tld/targets/${encodeURIComponent('james@.*:james-intern@james.org')}`)).statusCode).toBe(204);
    expect((await call('POST', '/mappings/address/group@domain.tld/targets/user@domain.tld')).statusCode).toBe(204);
    expect((await call('PUT', '/address/aliases/user@domain.tld/sources/alias@domain.tld')).statusCode).toBe(204);
    expect((await call('PUT', '/domainMappings/source1.domain.tld', 'domain.tld')).statusCode).toBe(204);
    expect((await call('GET', '/mappings')).json()).toEqual({
      'alias@domain.tld': [{ type: 'Alias', mapping: 'user@domain.tld' }],
      'group@domain.tld': [{ type: 'Address', mapping: 'user@domain.tld' }],
      'james@domain.tld': [{ type: 'Regex', mapping: 'james@.*:james-intern@james.org' }],
      'source1.domain.tld': [{ type: 'Domain', mapping: 'domain.tld' }],
    });
    expect((await call('GET', '/mappings/user/alias@domain.tld')).json()).toEqual([{ type: 'Alias', mapping: 'user@domain.tld' }]);
    expect(await identity.rrt.rewriteRecipient('james@domain.tld')).toEqual(['james-intern@james.org']);
    expect((await call('DELETE', `/mappings/regex/james@domain.tld/targets/${encodeURIComponent('james@.*:james-intern@james.org')}`)).statusCode).toBe(204);
    expect((await call('DELETE', '/mappings/address/group@domain.tld/targets/user@domain.tld')).statusCode).toBe(204);
    expect(Object.keys((await call('GET', '/mappings')).json())).toEqual(['alias@domain.tld', 'source1.domain.tld']);
  });

  it('refuses a regex that does not compile or may backtrack catastrophically with 400', async () => {
    const bad = await call('POST', `/mappings/regex/james@domain.tld/targets/${encodeURIComponent('(a+)+:x@domain.tld')}`);
    expect(bad.json()).toMatchObject({ statusCode: 400, type: 'InvalidArgument', message: expect.stringContaining('catastrophically') });
    expect((await call('POST', `/mappings/regex/james@domain.tld/targets/${encodeURIComponent('[oops:x@domain.tld')}`)).statusCode).toBe(400);
  });

  it('lists and deletes the sources of a mapping: GET /mappings/sources/{user}?type=group', async () => {
    expect((await call('PUT', '/address/groups/group1@domain.tld/user@domain.tld')).statusCode).toBe(204);
    expect((await call('PUT', '/address/groups/group2@domain.tld/user@domain.tld')).statusCode).toBe(204);
    expect((await call('GET', '/mappings/sources/user@domain.tld?type=group')).json()).toEqual(['group1@domain.tld', 'group2@domain.tld']);
    expect((await call('GET', '/mappings/sources/user@domain.tld?type=regex')).statusCode).toBe(400);
    expect((await call('DELETE', '/mappings/sources/user@domain.tld?type=group')).statusCode).toBe(204);
    expect((await call('GET', '/mappings/sources/user@domain.tld?type=group')).json()).toEqual([]);
  });

  it('adds and removes an error mapping (Postflow route; James does this from its CLI)', async () => {
    expect((await call('POST', `/mappings/error/closed@domain.tld/targets/${encodeURIComponent('550 closed')}`)).statusCode).toBe(204);
    expect((await call('GET', '/mappings/user/closed@domain.tld')).json()).toEqual([{ type: 'Error', mapping: '550 closed' }]);
    expect((await call('DELETE', `/mappings/error/closed@domain.tld/targets/${encodeURIComponent('550 closed')}`)).statusCode).toBe(204);
    expect((await call('GET', '/mappings/user/closed@domain.tld')).json()).toEqual([]);
  });
});
