import { describe, expect, it } from 'vitest';
import { compareMoney, formatMoney, isValidAmount, normaliseAmount, toCents } from './money';

describe('formatMoney', () => {
  it('uses Indian digit grouping for INR', () => {
    expect(formatMoney('120000.00', 'INR')).toBe('₹1,20,000.00');
    expect(formatMoney('12345678.5', 'INR')).toBe('₹1,23,45,678.50');
  });

  it('uses en-US grouping for other currencies', () => {
    expect(formatMoney('120000.00', 'USD')).toBe('$120,000.00');
    expect(formatMoney('1250', 'EUR')).toBe('€1,250.00');
  });

  it('shows a dash for missing or unparsable amounts', () => {
    expect(formatMoney(null, 'INR')).toBe('—');
    expect(formatMoney(undefined, 'INR')).toBe('—');
    expect(formatMoney('', 'INR')).toBe('—');
    expect(formatMoney('abc', 'INR')).toBe('—');
  });

  it('survives an unknown currency code', () => {
    expect(formatMoney('1000', 'NOPE!')).toBe('1,000.00');
  });
});

describe('amount helpers', () => {
  it('converts decimal strings to integer cents exactly', () => {
    expect(toCents('1250.00')).toBe(125000);
    expect(toCents('0.1')).toBe(10);
    expect(toCents('19.99')).toBe(1999);
    expect(toCents(12.5)).toBe(1250);
    expect(toCents('-1')).toBeNaN();
  });

  it('compares without floating point surprises', () => {
    expect(compareMoney('0.30', '0.3')).toBe(0);
    expect(compareMoney('100.01', '100.00')).toBeGreaterThan(0);
    expect(compareMoney('99.99', '100')).toBeLessThan(0);
  });

  it('accepts what the API accepts', () => {
    expect(isValidAmount('1250')).toBe(true);
    expect(isValidAmount('1250.5')).toBe(true);
    expect(isValidAmount(' 1250.50 ')).toBe(true);
    expect(isValidAmount('1250.505')).toBe(false);
    expect(isValidAmount('0')).toBe(false);
    expect(isValidAmount('-5')).toBe(false);
    expect(isValidAmount('1e3')).toBe(false);
    expect(isValidAmount('')).toBe(false);
  });

  it('normalises to two fractional digits', () => {
    expect(normaliseAmount('1200')).toBe('1200.00');
    expect(normaliseAmount('1200.5')).toBe('1200.50');
    expect(normaliseAmount('007.05')).toBe('7.05');
  });
});
