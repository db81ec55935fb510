import { MORE_RECIPIENTS_PREFIX, recipientsAttributeValue, SEARCH_ATTRIBUTE_VALUE_LIMIT } from '../../../workflows/lib/search-attributes';

const jsonBytes = (value: string[]): number => Buffer.byteLength(JSON.stringify(value));

describe('recipientsAttributeValue (the PostflowRecipients search attribute)', () => {
  it('keeps every recipient when their JSON fits the limit, the limit itself included', () => {
    expect(recipientsAttributeValue([])).toEqual([]);
    expect(recipientsAttributeValue(['a@x.test', 'b@x.test'])).toEqual(['a@x.test', 'b@x.test']);
    const exact = ['a'.repeat(SEARCH_ATTRIBUTE_VALUE_LIMIT - 4)];
    expect(jsonBytes(exact)).toBe(SEARCH_ATTRIBUTE_VALUE_LIMIT);
    expect(recipientsAttributeValue(exact)).toEqual(exact);
  });

  it('cuts a long list to the first recipients that fit, followed by how many more, within the limit', () => {
    const recipients = Array.from({ length: 100 }, (_, i) => `recipient-number-${i}@some-long-domain.example`);
    const value = recipientsAttributeValue(recipients);
    expect(jsonBytes(value)).toBeLessThanOrEqual(SEARCH_ATTRIBUTE_VALUE_LIMIT);
    const kept = value.slice(0, -1);
    expect(kept).toEqual(recipients.slice(0, kept.length));
    expect(value.at(-1)).toBe(`${MORE_RECIPIENTS_PREFIX}${100 - kept.length} more`);
    // As many as fit: one more recipient would not leave room for the marker.
    const oneMore = [...recipients.slice(0, kept.length + 1), `${MORE_RECIPIENTS_PREFIX}${100 - kept.length - 1} more`];
    expect(jsonBytes(oneMore)).toBeGreaterThan(SEARCH_ATTRIBUTE_VALUE_LIMIT);
  });

  it('counts bytes, not characters: non-ASCII addresses (SMTPUTF8) are cut by their UTF-8 size', () => {
    const recipients = Array.from({ length: 60 }, (_, i) => `получатель-${i}@почта.example`);
    const value = recipientsAttributeValue(recipients);
    expect(jsonBytes(value)).toBeLessThanOrEqual(SEARCH_ATTRIBUTE_VALUE_LIMIT);
    expect(JSON.stringify(value).length).toBeLessThan(SEARCH_ATTRIBUTE_VALUE_LIMIT / 1.5);
    expect(value.at(-1)).toMatch(/^…\+\d+ more$/);
  });

  it('lists only the marker when not even the first recipient fits', () => {
    expect(recipientsAttributeValue(['x'.repeat(3000), 'b@x.test'])).toEqual([`${MORE_RECIPIENTS_PREFIX}2 more`]);
    // ["a@x.test","…+2 more"] is 25 bytes (the ellipsis is 3).
    expect(recipientsAttributeValue(['a@x.test', 'b@x.test', 'c@x.test'], 26)).toEqual(['a@x.test', `${MORE_RECIPIENTS_PREFIX}2 more`]);
    expect(recipientsAttributeValue(['a@x.test', 'b@x.test', 'c@x.test'], 24)).toEqual([`${MORE_RECIPIENTS_PREFIX}3 more`]);
  });
});
