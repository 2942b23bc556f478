import { describe, expect, it } from 'vitest';
import { localInputToIso, toLocalInput } from './datetime';

describe('datetime-local conversion', () => {
  it('round-trips a local wall-clock time through ISO UTC', () => {
    const d = new Date(2025, 4, 17, 9, 30);
    const local = toLocalInput(d);
    expect(local).toBe('2025-05-17T09:30');
    expect(localInputToIso(local)).toBe(d.toISOString());
  });

  it('accepts seconds and rejects junk', () => {
    expect(localInputToIso('2025-05-17T09:30:15')).toBe(new Date(2025, 4, 17, 9, 30, 15).toISOString());
    expect(localInputToIso('')).toBeNull();
    expect(localInputToIso('tomorrow')).toBeNull();
  });
});
