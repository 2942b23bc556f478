import { useEffect, useRef, useState } from 'preact/hooks';
import { describeError } from '../api';
import { formatTime, useApp } from '../app';
import { describeNotification, notificationAuctionId } from '../notifications';
import { auctionHref } from '../router';
import type { Notification } from '../types';

export function NotificationBell() {
  const { api, socket, userId, money } = useApp();
  const [unread, setUnread] = useState(0);
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState<Notification[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  /** Ids already counted, so a notification seen by REST and by the socket counts once. */
  const counted = useRef(new Set<string>());
  /** Live arrivals while the unread count is being fetched. */
  const arrivedDuringFetch = useRef<Set<string> | null>(null);
  const panelRef = useRef<HTMLDivElement>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);

  // Per-user events are not replayed after a socket drop: recount whenever the socket comes back.
  const [syncSeq, setSyncSeq] = useState(0);
  useEffect(() => {
    let wasDown = false;
    return socket.onStatus((s) => {
      if (s === 'reconnecting') wasDown = true;
      if (s === 'live' && wasDown) {
        wasDown = false;
        setSyncSeq((n) => n + 1);
      }
    });
  }, [socket]);

  useEffect(() => {
    counted.current = new Set();
    setUnread(0);
    setItems([]);
  }, [api, userId]);

  useEffect(() => {
    let cancelled = false;
    arrivedDuringFetch.current = new Set();
    api
      .notifications(true)
      .then((page) => {
        if (cancelled) return;
        const ids = new Set(page.items.map((n) => n.id));
        ids.forEach((id) => counted.current.add(id));
        const extra = [...(arrivedDuringFetch.current ?? [])].filter((id) => !ids.has(id)).length;
        setUnread((page.unreadCount ?? page.items.length) + extra);
      })
      .catch(() => {
        /* the bell stays at what live events tell it */
      })
      .finally(() => {
        arrivedDuringFetch.current = null;
      });
    return () => {
      cancelled = true;
    };
  }, [api, userId, syncSeq]);

  useEffect(
    () =>
      socket.subscribe((msg) => {
        if (msg.type !== 'notification' || !('data' in msg)) return;
        const n = msg.data as unknown as Notification;
        if (!n || typeof n.id !== 'string' || counted.current.has(n.id)) return;
        counted.current.add(n.id);
        arrivedDuringFetch.current?.add(n.id);
        if (!n.readAt) setUnread((c) => c + 1);
        setItems((prev) => (prev.some((p) => p.id === n.id) ? prev : [n, ...prev]));
      }),
    [socket],
  );

  async function toggle() {
    const next = !open;
    setOpen(next);
    if (!next) return;
    setLoading(true);
    setError(null);
    try {
      const page = await api.notifications(false, null, 30);
      setItems(page.items);
      if (typeof page.unreadCount === 'number') setUnread(page.unreadCount);
      page.items.forEach((n) => counted.current.add(n.id));
    } catch (e) {
      setError(describeError(e));
    } finally {
      setLoading(false);
    }
  }

  async function markRead(n: Notification) {
    try {
      const updated = await api.markRead(n.id);
      setItems((prev) =>
        prev.map((p) => (p.id === n.id ? { ...p, readAt: updated?.readAt ?? new Date().toISOString() } : p)),
      );
      if (!n.readAt) setUnread((c) => Math.max(0, c - 1));
    } catch (e) {
      setError(describeError(e));
    }
  }

  async function markAllRead() {
    try {
      await api.markAllRead();
      const now = new Date().toISOString();
      setItems((prev) => prev.map((p) => (p.readAt ? p : { ...p, readAt: now })));
      setUnread(0);
    } catch (e) {
      setError(describeError(e));
    }
  }

  // Escape or a click elsewhere closes the panel.
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setOpen(false);
        buttonRef.current?.focus();
      }
    };
    const onClick = (e: MouseEvent) => {
      const t = e.target as Node;
      if (!panelRef.current?.contains(t) && !buttonRef.current?.contains(t)) setOpen(false);
    };
    addEventListener('keydown', onKey);
    addEventListener('click', onClick);
    return () => {
      removeEventListener('keydown', onKey);
      removeEventListener('click', onClick);
    };
  }, [open]);

  return (
    <div class="bell-wrap">
      <button
        ref={buttonRef}
        type="button"
        class="bell"
        aria-expanded={open}
        aria-controls="notification-panel"
        aria-label={`Notifications, ${unread} unread`}
        onClick={toggle}
        data-testid="notification-bell"
      >
        <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20">
          <path
            fill="currentColor"
            d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"
          />
        </svg>
        <span class={`bell-count${unread > 0 ? ' has-unread' : ''}`} data-testid="notification-count">
          {unread}
        </span>
      </button>
      {open && (
        <div id="notification-panel" ref={panelRef} class="bell-panel" role="region" aria-label="Notifications">
          <h2>Notifications</h2>
          {unread > 0 && (
            <button type="button" class="button-quiet small" onClick={markAllRead} data-testid="notification-read-all">
              Mark all read
            </button>
          )}
          {loading && <p class="muted">Loading…</p>}
          {error && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
          {!loading && items.length === 0 && <p class="muted">Nothing yet.</p>}
          <ul class="notification-list" data-testid="notification-list">
            {items.map((n) => {
              const text = describeNotification(n, money);
              const auctionId = notificationAuctionId(n);
              return (
                <li key={n.id} class={n.readAt ? 'read' : 'unread'} data-testid="notification-item">
                  <p>
                    {auctionId ? (
                      <a href={auctionHref(auctionId)} onClick={() => setOpen(false)}>
                        {text}
                      </a>
                    ) : (
                      text
                    )}
                  </p>
                  <p class="muted small">
                    <time dateTime={n.createdAt}>{formatTime(n.createdAt)}</time>
                  </p>
                  {!n.readAt && (
                    <button
                      type="button"
                      class="button-quiet small"
                      aria-label={`Mark read: ${text}`}
                      onClick={() => markRead(n)}
                      data-testid="notification-mark-read"
                    >
                      Mark read
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
        </div>
      )}
    </div>
  );
}
