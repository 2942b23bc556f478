import { describe, expect, it } from 'vitest';
import { Api, ApiError, describeError, fieldErrors, queryString } from './api';
import { placeBidWithRetry } from './components/BidBox';

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}) {
  const type = status >= 400 ? 'application/problem+json' : 'application/json';
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': type, ...headers } });
}

describe('api client', () => {
  it('builds query strings without empty values', () => {
    expect(queryString({ status: 'live', cursor: null, limit: 20, x: undefined })).toBe('?status=live&limit=20');
    expect(queryString({})).toBe('');
  });

  it('sends the bearer token, JSON body and idempotency key', async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const api = new Api('http://api.test', () => 'tok', (async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return jsonResponse(201, { id: 'b1', amount: '100.00' });
    }) as unknown as typeof fetch);
    await api.placeBid('a 1', { amount: '100.00' }, 'key-1');
    expect(calls[0].url).toBe('http://api.test/api/auctions/a%201/bids');
    const headers = calls[0].init.headers as Record<string, string>;
    expect(headers.Authorization).toBe('Bearer tok');
    expect(headers['Idempotency-Key']).toBe('key-1');
    expect(JSON.parse(String(calls[0].init.body))).toEqual({ amount: '100.00' });
  });

  it('sends the device id to the API, never to another origin (the socket node)', async () => {
    const sent: Record<string, Record<string, string>> = {};
    const api = new Api('http://api.test', () => null, (async (url: string, init: RequestInit) => {
      sent[url] = init.headers as Record<string, string>;
      return jsonResponse(200, { rooms: [], connections: 0, onlineUsers: 0 });
    }) as unknown as typeof fetch);
    api.deviceId = 'd3v1ce-0000-1111-2222';
    await api.me();
    await api.rooms('http://socket.test');
    expect(sent['http://api.test/api/me']['X-Device-Id']).toBe('d3v1ce-0000-1111-2222');
    expect(sent['http://socket.test/admin/rooms']['X-Device-Id']).toBeUndefined();
  });

  it('asks for the token on every call, so a refreshed one is used at once', async () => {
    let current = 'first';
    const sent: (string | undefined)[] = [];
    const api = new Api('http://api.test', async () => current, (async (_url: string, init: RequestInit) => {
      sent.push((init.headers as Record<string, string>).Authorization);
      return jsonResponse(200, { id: 'u1' });
    }) as unknown as typeof fetch);
    await api.me();
    current = 'refreshed';
    await api.me();
    expect(sent).toEqual(['Bearer first', 'Bearer refreshed']);
  });

  it('fails like the network when the session cannot be read, rather than going anonymous', async () => {
    let fetched = false;
    const api = new Api(
      'http://api.test',
      async () => {
        throw new Error('refresh failed');
      },
      (async () => {
        fetched = true;
        return jsonResponse(200, {});
      }) as unknown as typeof fetch,
    );
    const err = await api.me().catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.isNetwork).toBe(true);
    expect(fetched).toBe(false);
  });

  it('turns problem+json into ApiError with code, fields and Retry-After', async () => {
    const api = new Api('http://api.test', () => null, (async () =>
      jsonResponse(
        429,
        { code: 'rate_limited', title: 'Too Many Requests' },
        { 'retry-after': '3' },
      )) as unknown as typeof fetch);
    const err = await api.me().catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('rate_limited');
    expect(err.retryAfter).toBe(3);
    expect(describeError(err)).toBe('Too many bids: try again in 3 s.');
  });

  it('reports network failures as retryable status 0', async () => {
    const api = new Api('http://api.test', () => null, (async () => {
      throw new TypeError('Failed to fetch');
    }) as unknown as typeof fetch);
    const err = await api.me().catch((e) => e);
    expect(err.isNetwork).toBe(true);
    expect(err.code).toBe('network_error');
  });

  it('maps validation errors to fields', () => {
    const err = new ApiError(422, {
      code: 'validation_error',
      errors: [
        { field: 'body.startPrice', message: 'must be > 0' },
        { field: 'goLiveAt', message: 'must be in the future' },
      ],
    });
    expect(fieldErrors(err)).toEqual({ startPrice: 'must be > 0', goLiveAt: 'must be in the future' });
    expect(fieldErrors(new Error('x'))).toEqual({});
  });

  it('explains bid errors plainly', () => {
    const low = new ApiError(409, { code: 'bid_too_low', minNextBid: '1100.00' });
    expect(describeError(low, (a) => `₹${a}`)).toBe('Bid too low: the minimum is now ₹1100.00.');
    expect(describeError(new ApiError(409, { code: 'already_highest' }))).toBe('You already have the highest bid.');
    expect(describeError(new ApiError(409, { code: 'auction_not_live' }))).toMatch(/not live/);
  });

  it('passes serverTime to the clock listener with request timing', async () => {
    const api = new Api('http://api.test', () => null, (async () =>
      jsonResponse(200, { id: 'a1', serverTime: '2025-01-01T00:00:00Z' })) as unknown as typeof fetch);
    const seen: string[] = [];
    api.onServerTime = (t, sent, received) => {
      expect(received).toBeGreaterThanOrEqual(sent);
      seen.push(t);
    };
    await api.getAuction('a1');
    expect(seen).toEqual(['2025-01-01T00:00:00Z']);
  });
});

describe('placeBidWithRetry', () => {
  it('retries transient failures with the same idempotency key', async () => {
    const keys: string[] = [];
    let n = 0;
    const api = {
      placeBid: async (_id: string, _body: unknown, key: string) => {
        keys.push(key);
        if (n++ < 2) throw new ApiError(0, { title: 'Network error' });
        return {
          id: 'b1',
          auctionId: 'a1',
          bidderId: 'u',
          bidderName: 'Asha K.',
          amount: '100.00',
          createdAt: '',
          minNextBid: '110.00',
          endsAt: '',
          arrivedAt: '',
        };
      },
    };
    const bid = await placeBidWithRetry(api, 'a1', { amount: '100.00' }, 'k', async () => {});
    expect(bid.id).toBe('b1');
    expect(keys).toEqual(['k', 'k', 'k']);
  });

  it('does not retry a definitive refusal', async () => {
    let calls = 0;
    const api = {
      placeBid: async () => {
        calls++;
        throw new ApiError(409, { code: 'bid_too_low', minNextBid: '10.00' });
      },
    };
    await expect(placeBidWithRetry(api, 'a1', { amount: '1.00' }, 'k', async () => {})).rejects.toThrow();
    expect(calls).toBe(1);
  });
});

describe('placeBidWithRetry and an unknown outcome', () => {
  const unknown = () => new ApiError(503, { code: 'outcome_unknown', detail: 'retry with the same key' }, 1);

  it('retries an unknown outcome with the same key, with backoff, until it is settled', async () => {
    const keys: string[] = [];
    const waits: number[] = [];
    let n = 0;
    const api = {
      placeBid: async (_id: string, _body: unknown, key: string) => {
        keys.push(key);
        if (n++ < 3) throw unknown();
        return {
          id: 'b1',
          auctionId: 'a1',
          bidderId: 'u',
          bidderName: 'Asha K.',
          amount: '100.00',
          createdAt: '',
          minNextBid: '110.00',
          endsAt: '',
          arrivedAt: '',
        };
      },
    };
    const bid = await placeBidWithRetry(api, 'a1', { amount: '100.00' }, 'k', async (ms) => {
      waits.push(ms);
    });
    expect(bid.id).toBe('b1');
    expect(keys).toEqual(['k', 'k', 'k', 'k']);
    expect(waits).toEqual([1000, 1000, 2000]); // Retry-After (1 s) is the floor
  });

  it('gives up after a few tries and says plainly what happened', async () => {
    let calls = 0;
    const api = {
      placeBid: async () => {
        calls++;
        throw unknown();
      },
    };
    const failure = await placeBidWithRetry(api, 'a1', { amount: '1.00' }, 'k', async () => {}).catch((e) => e);
    expect(calls).toBe(5);
    expect(describeError(failure)).toMatch(/could not confirm whether your bid was placed/);
    expect(describeError(failure)).toMatch(/never placed twice/);
  });
});
