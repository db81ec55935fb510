import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/config/load-config';

describe('loadConfig', () => {
  it('gives the embedded defaults with no file and no environment', () => {
    const config = loadConfig({ env: {} });
    expect(config).toMatchObject({ profile: 'embedded', smtp: { port: 2525 }, imap: { port: 1143 }, webadmin: { port: 8000 }, temporal: { uiPort: 8233 } });
  });

  it('lets the file override defaults and the environment override the file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'postflow-config-'));
    const file = path.join(dir, 'postflow.yaml');
    writeFileSync(file, 'smtp:\n  port: 2626\n  maxMessageSize: 1000\nimap:\n  port: 1444\n');
    const config = loadConfig({ file, env: { POSTFLOW_SMTP_PORT: '2727', POSTFLOW_CASSANDRA_CONTACT_POINTS: 'a:1,b:2' } });
    expect(config.smtp).toMatchObject({ port: 2727, maxMessageSize: 1000 });
    expect(config.imap.port).toBe(1444);
    expect(config.cassandra.contactPoints).toEqual(['a:1', 'b:2']);
  });

  it('names the key of a bad value', () => {
    expect(() => loadConfig({ env: { POSTFLOW_SMTP_PORT: 'many' } })).toThrow(/smtp\.port: Expected number/);
    expect(() => loadConfig({ env: { POSTFLOW_PROFILE: 'cloud' } })).toThrow(/profile: Invalid enum value/);
  });

  it('refuses an unknown key in the file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'postflow-config-'));
    const file = path.join(dir, 'postflow.yaml');
    writeFileSync(file, 'smtp:\n  prot: 25\n');
    expect(() => loadConfig({ file, env: {} })).toThrow(/smtp: Unrecognized key\(s\) in object: 'prot'/);
  });

  it('says which file it cannot read or parse', () => {
    expect(() => loadConfig({ file: '/nonexistent/postflow.yaml', env: {} })).toThrow('Cannot read configuration file /nonexistent/postflow.yaml');
    const dir = mkdtempSync(path.join(tmpdir(), 'postflow-config-'));
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'smtp: [unclosed');
    expect(() => loadConfig({ file, env: {} })).toThrow(/Cannot parse configuration file/);
  });

  it('reads blobStore.inlineMaxBytes (64 KiB by default) and refuses a negative, fractional or over-1-MiB value', () => {
    expect(loadConfig({ env: {} }).blobStore.inlineMaxBytes).toBe(64 * 1024);
    expect(loadConfig({ env: { POSTFLOW_BLOB_STORE_INLINE_MAX_BYTES: '0' } }).blobStore.inlineMaxBytes).toBe(0);
    expect(loadConfig({ env: { POSTFLOW_BLOB_STORE_INLINE_MAX_BYTES: '16384' } }).blobStore.inlineMaxBytes).toBe(16384);
    for (const bad of ['-1', '1.5', String(2 * 1024 * 1024), 'big']) {
      expect(() => loadConfig({ env: { POSTFLOW_BLOB_STORE_INLINE_MAX_BYTES: bad } })).toThrow(/blobStore\.inlineMaxBytes/);
    }
  });

  it('reads smtp.handOff (journal by default, or start) and refuses another value', () => {
    expect(loadConfig({ env: {} }).smtp.handOff).toBe('journal');
    expect(loadConfig({ env: { POSTFLOW_SMTP_HAND_OFF: 'start' } }).smtp.handOff).toBe('start');
    expect(() => loadConfig({ env: { POSTFLOW_SMTP_HAND_OFF: 'later' } })).toThrow(/smtp\.handOff/);
  });
});
