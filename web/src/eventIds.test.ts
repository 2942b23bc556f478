import { describe, expect, it } from 'vitest';
import { compareEventId } from './eventIds';

describe('compareEventId', () => {
  it('compares integers numerically, as numbers or strings', () => {
    expect(compareEventId(10, 9)).toBeGreaterThan(0);
    expect(compareEventId('10', '9')).toBeGreaterThan(0);
    expect(compareEventId('9', 10)).toBeLessThan(0);
    expect(compareEventId('007', 7)).toBe(0);
    expect(compareEventId('123456789012345678901', '123456789012345678900')).toBeGreaterThan(0);
  });

  it('compares Redis stream ids part by part', () => {
    expect(compareEventId('1700000000000-10', '1700000000000-9')).toBeGreaterThan(0);
    expect(compareEventId('1700000000001-0', '1700000000000-99')).toBeGreaterThan(0);
    expect(compareEventId('1700000000000-1', '1700000000000-1')).toBe(0);
  });

  it('treats a missing reference as oldest', () => {
    expect(compareEventId(1, null)).toBeGreaterThan(0);
    expect(compareEventId('x', undefined)).toBeGreaterThan(0);
  });
});
