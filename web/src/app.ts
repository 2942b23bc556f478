// What every screen needs: configuration, the API and socket clients, the server clock and the
// signed-in user. Provided once by <App>, read with useApp().

import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import type { Api } from './api';
import type { SessionSource } from './auth';
import type { ServerClock } from './clock';
import type { AppConfig } from './config';
import type { ConnectionStatus, LiveSocket } from './socket';
import type { User } from './types';

export interface AppServices {
  config: AppConfig;
  api: Api;
  socket: LiveSocket;
  clock: ServerClock;
  /** Where sign-in comes from (Supabase, dev login, or none); it owns the token. */
  session: SessionSource;
  /** The signed-in user's id, null when anonymous (the token itself stays with `session`). */
  userId: string | null;
  me: User | null;
  /** Read the signed-in user again (a role that changed: a buyer who started selling). */
  refreshMe: () => void;
  /** Formats a decimal-string amount in the configured currency. */
  money: (amount: string | number | null | undefined) => string;
  signOut: () => void;
}

export const AppContext = createContext<AppServices | null>(null);

export function useApp(): AppServices {
  const app = useContext(AppContext);
  if (!app) throw new Error('useApp outside <AppContext.Provider>');
  return app;
}

export function useConnectionStatus(socket: LiveSocket): ConnectionStatus {
  const [status, setStatus] = useState(socket.status);
  useEffect(() => {
    setStatus(socket.status);
    return socket.onStatus(setStatus);
  }, [socket]);
  return status;
}

/** Server-clock "now", re-rendering every `everyMs` and whenever the clock's offset changes. */
export function useServerNow(clock: ServerClock, everyMs = 250): number {
  const [now, setNow] = useState(() => clock.now());
  useEffect(() => {
    const tick = () => setNow(clock.now());
    const id = setInterval(tick, everyMs);
    const unsubscribe = clock.subscribe(tick);
    return () => {
      clearInterval(id);
      unsubscribe();
    };
  }, [clock, everyMs]);
  return now;
}

/** An ISO UTC time in the browser's locale and time zone. */
export function formatTime(iso: string | null | undefined, withSeconds = false): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: withSeconds ? 'medium' : 'short' });
}

export const STATUS_LABELS: Record<string, string> = {
  scheduled: 'Scheduled',
  live: 'Live',
  ended: 'Ended',
  sold: 'Sold',
  closed_no_winner: 'Closed, no winner',
  cancelled: 'Cancelled',
};
