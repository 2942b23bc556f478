import { useEffect, useRef, useState } from 'preact/hooks';
import { describeError, fieldErrors } from '../api';
import { formatTime, useApp } from '../app';
import { auctionHref } from '../router';
import type { AdminUser, AuditEntry, Role } from '../types';

/** The admin sub-pages: every auction (#/admin), users (#/admin/users), disputes
 * (#/admin/disputes), the audit log (#/admin/audit), the shill signals (#/admin/trust). */
export function AdminNav({ current }: { current: 'auctions' | 'users' | 'disputes' | 'audit' | 'trust' }) {
  const link = (name: typeof current, href: string, label: string) => (
    <a href={href} class="tab" aria-current={current === name ? 'page' : undefined} data-testid={`admin-nav-${name}`}>
      {label}
    </a>
  );
  return (
    <nav class="tabs admin-nav" aria-label="Admin">
      {link('auctions', '#/admin', 'Auctions')}
      {link('users', '#/admin/users', 'Users')}
      {link('disputes', '#/admin/disputes', 'Disputes')}
      {link('audit', '#/admin/audit', 'Audit log')}
      {link('trust', '#/admin/trust', 'Shill signals')}
    </nav>
  );
}

export function AdminOnly({ children }: { children: preact.ComponentChildren }) {
  const { me, userId } = useApp();
  if (!userId || (me && me.role !== 'admin')) {
    return (
      <section class="card narrow">
        <h1>Admin</h1>
        <p>This page is for admins. {userId ? '' : <a href="#/login">Sign in</a>}</p>
      </section>
    );
  }
  return <>{children}</>;
}

export function AdminUsers() {
  return (
    <AdminOnly>
      <section class="admin">
        <h1>Users</h1>
        <AdminNav current="users" />
        <UserList />
      </section>
    </AdminOnly>
  );
}

function UserList() {
  const { api, me } = useApp();
  const [q, setQ] = useState('');
  const [query, setQuery] = useState('');
  const [suspended, setSuspended] = useState<'' | 'true' | 'false'>('');
  const [items, setItems] = useState<AdminUser[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [reasons, setReasons] = useState<Record<string, string>>({});
  const [busyId, setBusyId] = useState<string | null>(null);
  const [seq, setSeq] = useState(0);
  const latest = useRef(0);

  async function loadPage(from: string | null) {
    const ticket = ++latest.current;
    setError(null);
    try {
      const filter = suspended === '' ? null : suspended === 'true';
      const page = await api.adminUsers({ q: query || undefined, suspended: filter }, from);
      if (ticket !== latest.current) return; // a later load (other filters) answers instead
      setItems((prev) => (from ? [...prev, ...page.items] : page.items));
      setCursor(page.nextCursor ?? null);
    } catch (e) {
      if (ticket === latest.current) setError(describeError(e));
    }
  }

  useEffect(() => {
    loadPage(null);
  }, [query, suspended, seq]);

  async function changeRole(user: AdminUser, role: Role) {
    if (busyId || role === user.role) return;
    setBusyId(user.id);
    setMessage(null);
    setError(null);
    try {
      await api.setRole(user.id, role);
      setMessage(`${user.name} is now ${role === 'admin' ? 'an admin' : `a ${role}`}.`);
      setSeq((n) => n + 1);
    } catch (e) {
      const fields = fieldErrors(e);
      setError(Object.values(fields)[0] ?? describeError(e));
    } finally {
      setBusyId(null);
    }
  }

  async function toggle(user: AdminUser) {
    if (busyId) return;
    setBusyId(user.id);
    setMessage(null);
    setError(null);
    try {
      if (user.suspended) {
        await api.unsuspendUser(user.id);
        setMessage(`${user.name} can write again.`);
      } else {
        const reason = (reasons[user.id] ?? '').trim();
        if (!reason) throw new Error('Give a reason for the suspension.');
        await api.suspendUser(user.id, reason);
        setMessage(`${user.name} is suspended.`);
      }
      setSeq((n) => n + 1);
    } catch (e) {
      const fields = fieldErrors(e);
      setError(Object.values(fields)[0] ?? describeError(e));
    } finally {
      setBusyId(null);
    }
  }

  return (
    <section class="card" data-testid="admin-users">
      <form
        class="admin-filters"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery(q.trim());
        }}
      >
        <div class="inline-field">
          <label for="user-search">Name or email</label>
          <input id="user-search" type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} data-testid="user-search" />
        </div>
        <div class="inline-field">
          <label for="user-suspended">Status</label>
          <select
            id="user-suspended"
            value={suspended}
            onChange={(e) => setSuspended(e.currentTarget.value as typeof suspended)}
            data-testid="user-suspended-filter"
          >
            <option value="">Everyone</option>
            <option value="true">Suspended</option>
            <option value="false">Active</option>
          </select>
        </div>
        <button type="submit" class="button-quiet">
          Search
        </button>
      </form>
      {message && (
        <p class="ok" role="status">
          {message}
        </p>
      )}
      {error && (
        <p class="error" role="alert" data-testid="admin-users-error">
          {error}
        </p>
      )}
      <ul class="admin-list">
        {items.map((u) => {
          const reasonId = `reason-${u.id}`;
          return (
            <li key={u.id} class="admin-row" data-testid="admin-user" data-user-id={u.id}>
              <div class="admin-row-main">
                <strong>{u.name}</strong> <span class="muted">{u.email}</span> <span class="role">({u.role})</span>
                {u.suspended && (
                  <p class="warn small" data-testid="user-suspended">
                    Suspended {formatTime(u.suspendedAt)}: {u.suspendedReason}
                  </p>
                )}
              </div>
              <div class="admin-row-actions">
                {u.id !== me?.id && (
                  <>
                    <label class="visually-hidden" for={`role-${u.id}`}>
                      Role of {u.name}
                    </label>
                    <select
                      id={`role-${u.id}`}
                      value={u.role}
                      disabled={busyId === u.id}
                      onChange={(e) => changeRole(u, e.currentTarget.value as Role)}
                      data-testid="user-role"
                    >
                      <option value="buyer">buyer</option>
                      <option value="seller">seller</option>
                      <option value="admin">admin</option>
                    </select>
                  </>
                )}
                {!u.suspended && u.id !== me?.id && (
                  <>
                    <label class="visually-hidden" for={reasonId}>
                      Reason to suspend {u.name}
                    </label>
                    <input
                      id={reasonId}
                      type="text"
                      placeholder="Reason"
                      maxLength={500}
                      value={reasons[u.id] ?? ''}
                      onInput={(e) => {
                        const v = e.currentTarget.value;
                        setReasons((r) => ({ ...r, [u.id]: v }));
                      }}
                      data-testid="suspend-reason"
                    />
                  </>
                )}
                {u.id !== me?.id && (
                  <button
                    type="button"
                    class={u.suspended ? 'button-quiet' : 'button-danger'}
                    disabled={busyId === u.id}
                    onClick={() => toggle(u)}
                    data-testid={u.suspended ? 'unsuspend' : 'suspend'}
                  >
                    {u.suspended ? 'Lift suspension' : 'Suspend'}
                  </button>
                )}
              </div>
            </li>
          );
        })}
      </ul>
      {items.length === 0 && !error && <p class="muted">No users match.</p>}
      {cursor && (
        <button type="button" class="button-quiet load-more" onClick={() => loadPage(cursor)}>
          Load more
        </button>
      )}
    </section>
  );
}

export function AdminAudit() {
  return (
    <AdminOnly>
      <section class="admin">
        <h1>Audit log</h1>
        <AdminNav current="audit" />
        <AuditLog />
      </section>
    </AdminOnly>
  );
}

function AuditLog() {
  const { api } = useApp();
  const [form, setForm] = useState({ actorId: '', action: '', auctionId: '' });
  const [filters, setFilters] = useState(form);
  const [items, setItems] = useState<AuditEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const latest = useRef(0);

  async function loadPage(from: string | null) {
    const ticket = ++latest.current;
    setError(null);
    try {
      const clean = Object.fromEntries(Object.entries(filters).filter(([, v]) => v.trim() !== ''));
      const page = await api.auditLog(clean, from);
      // The first, unfiltered page can answer after a filtered one asked later: not shown.
      if (ticket !== latest.current) return;
      setItems((prev) => (from ? [...prev, ...page.items] : page.items));
      setCursor(page.nextCursor ?? null);
    } catch (e) {
      if (ticket !== latest.current) return;
      const fields = fieldErrors(e);
      setError(Object.entries(fields).map(([f, m]) => `${f}: ${m}`)[0] ?? describeError(e));
    }
  }

  useEffect(() => {
    loadPage(null);
  }, [filters]);

  const field = (name: keyof typeof form, label: string) => (
    <div class="inline-field">
      <label for={`audit-${name}`}>{label}</label>
      <input
        id={`audit-${name}`}
        type="text"
        value={form[name]}
        onInput={(e) => {
          const v = e.currentTarget.value;
          setForm((f) => ({ ...f, [name]: v }));
        }}
        data-testid={`audit-${name}`}
      />
    </div>
  );

  return (
    <section class="card" data-testid="admin-audit">
      <form
        class="admin-filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters({ ...form });
        }}
      >
        {field('actorId', 'Actor id')}
        {field('action', 'Action')}
        {field('auctionId', 'Auction id')}
        <button type="submit" class="button-quiet" data-testid="audit-apply">
          Filter
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <table class="audit-table">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Action</th>
            <th scope="col">Actor</th>
            <th scope="col">Auction</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {items.map((e) => (
            <tr key={e.id} data-testid="audit-entry" data-action={e.action}>
              <td>{formatTime(e.createdAt, true)}</td>
              <td>
                <code>{e.action}</code>
              </td>
              <td class="small">{e.actorId ?? 'system'}</td>
              <td class="small">{e.auctionId ? <a href={auctionHref(e.auctionId)}>{e.auctionId.slice(0, 8)}</a> : '—'}</td>
              <td class="small">
                <code>{JSON.stringify(e.details)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {items.length === 0 && !error && <p class="muted">No entries match.</p>}
      {cursor && (
        <button type="button" class="button-quiet load-more" onClick={() => loadPage(cursor)}>
          Load more
        </button>
      )}
    </section>
  );
}
