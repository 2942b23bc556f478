// This browser's device id: a random id kept in local storage and sent to the API with every
// request (X-Device-Id). The server keeps only a salted hash of it, for 90 days, to notice a
// bidder on the same device as the seller (the shill signals); it identifies nothing else.

import { uuid } from './uuid';

export const DEVICE_KEY = 'auction.deviceId';
const VALID = /^[A-Za-z0-9_-]{16,64}$/;

/** The stored id, or a new one stored now; null where storage is unavailable (private modes). */
export function deviceId(storage: Pick<Storage, 'getItem' | 'setItem'> | null = safeStorage()): string | null {
  if (!storage) return null;
  try {
    const known = storage.getItem(DEVICE_KEY);
    if (known && VALID.test(known)) return known;
    const made = uuid();
    storage.setItem(DEVICE_KEY, made);
    return made;
  } catch {
    return null;
  }
}

function safeStorage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}
