import { useEffect, useRef, useState } from 'preact/hooks';
import { describeError, fieldErrors } from '../api';
import { formatTime, STATUS_LABELS, useApp } from '../app';
import { auctionHref, userHref } from '../router';
import { atOrAbove, DEFAULT_THRESHOLD, feedbackView, SIGNAL_LABELS, signalText, voidable } from '../trust';
import type { Auction, FeedbackEntry, Rating, Reputation, RetractReason, Suspect } from '../types';
import { AdminNav, AdminOnly } from './AdminModeration';

const RATING_LABELS: Record<Rating, string> = { positive: 'Positive', neutral: 'Neutral', negative: 'Negative' };
const VOID_REASON = 'Shill bidding suspected: bids voided';

// ---- names that lead to a reputation card ------------------------------------------------------

/** A person's public name, linked to their reputation card. */
export function PersonLink({ id, name, testId }: { id: string; name: string; testId?: string }) {
  return (
    <a href={userHref(id)} class="person-link" data-testid={testId} data-user-id={id}>
      {name}
    </a>
  );
}

/** "Seller: Asha K. · 98% positive (51)": the seller's name and standing, linked to the card. */
export function SellerLine({ sellerId }: { sellerId: string }) {
  const { api } = useApp();
  const [rep, setRep] = useState<Reputation | null>(null);
  useEffect(() => {
    let live = true;
    api.reputation(sellerId).then((r) => live && setRep(r), () => {});
    return () => {
      live = false;
    };
  }, [api, sellerId]);
  if (!rep) return null;
  return (
    <p class="muted small seller-line" data-testid="seller-line">
      Seller: <PersonLink id={sellerId} name={rep.name} /> · {standing(rep)}
    </p>
  );
}

function standing(rep: Reputation): string {
  const rated = rep.positive + rep.neutral + rep.negative;
  if (rated === 0) return 'no ratings yet';
  const share = rep.percentPositive === null ? 'no positive or negative ratings' : `${rep.percentPositive}% positive`;
  return `${share} (${rated} in 12 months)`;
}

/** `#/users/{id}`: what others said of this person over the last 12 months. */
export function UserPage({ id }: { id: string }) {
  const { api } = useApp();
  const [rep, setRep] = useState<Reputation | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setRep(null);
    setError(null);
    api.reputation(id).then(setRep, (e) => setError(describeError(e)));
  }, [api, id]);
  if (error) {
    return (
      <section class="card narrow">
        <h1>Reputation</h1>
        <p class="error" role="alert">
          {error}
        </p>
      </section>
    );
  }
  if (!rep) return <p class="page-loading">Loading…</p>;
  return (
    <section class="card narrow reputation" data-testid="reputation-card" data-user-id={rep.userId}>
      <h1>{rep.name}</h1>
      <p class="muted">Member since {formatTime(rep.memberSince)}</p>
      <dl class="facts">
        <div class="fact fact-main">
          <dt>Positive share</dt>
          <dd data-testid="reputation-percent">{rep.percentPositive === null ? '—' : `${rep.percentPositive}%`}</dd>
        </div>
        <div class="fact">
          <dt>Positive</dt>
          <dd data-testid="reputation-positive">{rep.positive}</dd>
        </div>
        <div class="fact">
          <dt>Neutral</dt>
          <dd>{rep.neutral}</dd>
        </div>
        <div class="fact">
          <dt>Negative</dt>
          <dd data-testid="reputation-negative">{rep.negative}</dd>
        </div>
        <div class="fact">
          <dt>Bids retracted</dt>
          <dd>{rep.retractions12m}</dd>
        </div>
      </dl>
      <p class="muted small">Ratings of the last 12 months, as a buyer and as a seller.</p>
      <h2>Recent feedback</h2>
      {rep.recent.length === 0 ? (
        <p class="muted">No feedback yet.</p>
      ) : (
        <ul class="feedback-list">
          {rep.recent.map((r, i) => (
            <li key={i} class={`feedback feedback-${r.rating}`} data-testid="reputation-entry" data-rating={r.rating}>
              <strong>{RATING_LABELS[r.rating]}</strong> <span class="muted small">as {r.role} · {formatTime(r.at)}</span>
              {r.comment && <p>{r.comment}</p>}
              {r.reply && <p class="small reply">Reply: {r.reply.comment}</p>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

// ---- the seller blocks a bidder from their room ---------------------------------------------------

/** The seller's own blocked bidders, as a set of ids, with a toggle. */
export function useBlocked(active: boolean) {
  const { api } = useApp();
  const [blocked, setBlocked] = useState<Set<string>>(new Set());
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!active) return;
    api.blockedBidders().then(
      (page) => setBlocked(new Set(page.items.map((b) => b.userId))),
      () => {},
    );
  }, [api, active]);
  async function toggle(userId: string) {
    const on = !blocked.has(userId);
    setError(null);
    try {
      await api.blockBidder(userId, on);
      setBlocked((prev) => {
        const next = new Set(prev);
        if (on) next.add(userId);
        else next.delete(userId);
        return next;
      });
    } catch (e) {
      setError(describeError(e));
    }
  }
  return { blocked, toggle, error };
}

export function BlockButton(props: { name: string; blocked: boolean; onToggle: () => void }) {
  return (
    <button
      type="button"
      class={props.blocked ? 'button-quiet small' : 'button-quiet small danger-text'}
      aria-label={`${props.blocked ? 'Unblock' : 'Block'} ${props.name}`}
      aria-pressed={props.blocked}
      onClick={props.onToggle}
      data-testid="block-bidder"
      data-blocked={props.blocked ? 'true' : 'false'}
    >
      {props.blocked ? 'Unblock' : 'Block'}
    </button>
  );
}

// ---- retracting my own bid -----------------------------------------------------------------------

export const RETRACT_REASONS: { value: RetractReason; label: string }[] = [
  { value: 'typo', label: 'I entered the wrong amount' },
  { value: 'item_changed', label: "The item's description changed" },
  { value: 'cannot_contact_seller', label: 'I cannot reach the seller' },
];

/** A bidder's own standing bid while the auction is live: retract it, with a reason. Far from
 * the end every bid of theirs goes; near it only the latest, within an hour of placing it (the
 * server says which, and says no otherwise). */
export function RetractButton(props: { auctionId: string; bidId: string; onDone: () => void }) {
  const { api } = useApp();
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState<RetractReason>('typo');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (!open) {
    return (
      <button type="button" class="button-quiet small" onClick={() => setOpen(true)} data-testid="retract-bid">
        Retract
      </button>
    );
  }
  async function retract() {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await api.retractBid(props.auctionId, props.bidId, reason);
      setOpen(false);
      props.onDone();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <span class="retract-form" data-testid="retract-form">
      <label>
        <span class="visually-hidden">Why</span>
        <select
          value={reason}
          onChange={(e) => setReason((e.target as HTMLSelectElement).value as RetractReason)}
          data-testid="retract-reason"
        >
          {RETRACT_REASONS.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
        </select>
      </label>
      <button type="button" class="button-quiet small danger-text" disabled={busy} onClick={retract} data-testid="retract-confirm">
        Retract bid
      </button>
      <button type="button" class="button-quiet small" onClick={() => setOpen(false)}>
        Keep it
      </button>
      {error && (
        <span class="error" role="alert" data-testid="retract-error">
          {error}
        </span>
      )}
    </span>
  );
}

// ---- feedback after a completed sale --------------------------------------------------------------

export function FeedbackPanel({ auction }: { auction: Auction }) {
  const { api, me } = useApp();
  const [items, setItems] = useState<FeedbackEntry[]>([]);
  const [rating, setRating] = useState<Rating>('positive');
  const [comment, setComment] = useState('');
  const [reply, setReply] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [seq, setSeq] = useState(0);

  useEffect(() => {
    api.auctionFeedback(auction.id).then((page) => setItems(page.items), () => {});
  }, [api, auction.id, seq]);

  const view = feedbackView(auction, me?.id ?? null, items);

  async function run(fn: () => Promise<unknown>) {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await fn();
      setComment('');
      setReply('');
      setSeq((n) => n + 1);
    } catch (e) {
      const fields = fieldErrors(e);
      setError(Object.values(fields)[0] ?? describeError(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="feedback-panel" data-testid="feedback-panel">
      <h2>Feedback</h2>
      {items.length === 0 && !view.mayLeave && (
        <p class="muted small">Feedback opens once the seller confirms the payment.</p>
      )}
      <ul class="feedback-list">
        {items.map((f) => (
          <li key={f.id} class={`feedback feedback-${f.rating}`} data-testid="feedback-entry" data-rating={f.rating}>
            <strong>{RATING_LABELS[f.rating]}</strong> from <PersonLink id={f.fromId} name={f.fromName} /> (the {f.fromRole})
            {f.comment && <p>{f.comment}</p>}
            {f.reply && <p class="small reply">Reply: {f.reply.comment}</p>}
          </li>
        ))}
      </ul>
      {view.mayLeave && (
        <form
          class="form"
          onSubmit={(e) => {
            e.preventDefault();
            run(() => api.leaveFeedback(auction.id, rating, comment.trim()));
          }}
        >
          <fieldset class="ratings">
            <legend>Your rating of the {me?.id === auction.sellerId ? 'buyer' : 'seller'}</legend>
            {(['positive', 'neutral', 'negative'] as Rating[]).map((r) => (
              <label key={r} class="check">
                <input type="radio" name="rating" value={r} checked={rating === r} onChange={() => setRating(r)} />
                {RATING_LABELS[r]}
              </label>
            ))}
          </fieldset>
          <label class="field" for="feedback-comment">
            <span>Comment (optional, one line)</span>
            <input
              id="feedback-comment"
              type="text"
              maxLength={500}
              value={comment}
              onInput={(e) => setComment(e.currentTarget.value)}
              data-testid="feedback-comment"
            />
          </label>
          <button type="submit" class="button-primary" disabled={busy} data-testid="feedback-submit">
            Leave feedback
          </button>
        </form>
      )}
      {view.mayReplyTo && (
        <form
          class="form"
          onSubmit={(e) => {
            e.preventDefault();
            run(() => api.replyToFeedback(auction.id, reply.trim()));
          }}
        >
          <label class="field" for="feedback-reply">
            <span>Your reply (once, one line)</span>
            <input
              id="feedback-reply"
              type="text"
              maxLength={500}
              value={reply}
              onInput={(e) => setReply(e.currentTarget.value)}
              data-testid="feedback-reply"
            />
          </label>
          <button type="submit" class="button-quiet" disabled={busy || !reply.trim()} data-testid="feedback-reply-submit">
            Reply
          </button>
        </form>
      )}
      {error && (
        <p class="error" role="alert" data-testid="feedback-error">
          {error}
        </p>
      )}
    </div>
  );
}

// ---- the admin's shill suspects -------------------------------------------------------------------

export function AdminTrust() {
  return (
    <AdminOnly>
      <section class="admin">
        <h1>Shill signals</h1>
        <AdminNav current="trust" />
        <Suspects />
      </section>
    </AdminOnly>
  );
}

function Suspects() {
  const { api } = useApp();
  const [items, setItems] = useState<Suspect[]>([]);
  const [threshold, setThreshold] = useState(DEFAULT_THRESHOLD);
  const [sellerId, setSellerId] = useState('');
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [seq, setSeq] = useState(0);
  const latest = useRef(0);

  useEffect(() => {
    const ticket = ++latest.current;
    setError(null);
    api.suspects(200, filter || undefined).then(
      (page) => ticket === latest.current && setItems(page.items),
      (e) => ticket === latest.current && setError(describeError(e)),
    );
  }, [api, filter, seq]);

  async function act(key: string, fn: () => Promise<unknown>, done: string) {
    if (busy) return;
    setBusy(key);
    setMessage(null);
    setError(null);
    try {
      await fn();
      setMessage(done);
      setSeq((n) => n + 1);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(null);
    }
  }

  const shown = atOrAbove(items, threshold);
  return (
    <section class="card" data-testid="admin-suspects">
      <p class="muted small">
        Each (bidder, seller) pair is scored from the record within seconds of a bid. A score is a lead for you to look at,
        never a verdict: read the reasons and the auctions before you act.
      </p>
      <form
        class="admin-filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter(sellerId.trim());
        }}
      >
        <div class="inline-field">
          <label for="suspect-threshold">From score</label>
          <input
            id="suspect-threshold"
            type="number"
            min={0}
            max={1}
            step={0.05}
            value={threshold}
            onInput={(e) => {
              const v = Number(e.currentTarget.value);
              if (Number.isFinite(v)) setThreshold(v);
            }}
            data-testid="suspect-threshold"
          />
        </div>
        <div class="inline-field">
          <label for="suspect-seller">Seller id</label>
          <input id="suspect-seller" type="text" value={sellerId} onInput={(e) => setSellerId(e.currentTarget.value)} />
        </div>
        <button type="submit" class="button-quiet">
          Filter
        </button>
      </form>
      {message && (
        <p class="ok" role="status">
          {message}
        </p>
      )}
      {error && (
        <p class="error" role="alert" data-testid="suspects-error">
          {error}
        </p>
      )}
      <ul class="admin-list">
        {shown.map((s) => {
          const key = `${s.bidderId}:${s.sellerId}`;
          return (
            <li key={key} class="admin-row suspect" data-testid="suspect" data-bidder-id={s.bidderId} data-seller-id={s.sellerId}>
              <div class="admin-row-main">
                <p>
                  <strong class="score" data-testid="suspect-score">
                    {s.score.toFixed(2)}
                  </strong>{' '}
                  <PersonLink id={s.bidderId} name={s.bidderName} /> bidding on{' '}
                  <PersonLink id={s.sellerId} name={s.sellerName} />
                  {s.bidderSuspended && <span class="warn small"> · suspended</span>}
                </p>
                <ul class="reasons" data-testid="suspect-reasons">
                  {s.reasons.map((r) => (
                    <li key={r}>{r}</li>
                  ))}
                </ul>
                <p class="muted small signals">
                  {Object.entries(s.signals).map(([name, value]) => (
                    <span key={name} class="chip chip-static" title={SIGNAL_LABELS[name] ?? name}>
                      {SIGNAL_LABELS[name] ?? name}: {signalText(name, value)}
                    </span>
                  ))}
                </p>
                <p class="small">
                  Auctions:{' '}
                  {s.auctions.map((a, i) => (
                    <span key={a.id}>
                      {i > 0 && ', '}
                      <a href={auctionHref(a.id)} data-testid="suspect-auction">
                        {a.itemName}
                      </a>{' '}
                      <span class="muted">({STATUS_LABELS[a.status] ?? a.status})</span>
                      {voidable(a.status) && (
                        <button
                          type="button"
                          class="link-button"
                          disabled={busy !== null}
                          onClick={() => act(`void:${a.id}`, () => api.cancelAuction(a.id, VOID_REASON), `${a.itemName}: cancelled, its bids void.`)}
                          data-testid="suspect-void"
                        >
                          {' '}void
                        </button>
                      )}
                    </span>
                  ))}
                </p>
              </div>
              <div class="admin-row-actions">
                {!s.bidderSuspended && (
                  <button
                    type="button"
                    class="button-danger"
                    disabled={busy !== null}
                    onClick={() =>
                      act(key, () => api.suspendUser(s.bidderId, `Shill bidding suspected on ${s.sellerName}'s auctions`), `${s.bidderName} is suspended.`)
                    }
                    data-testid="suspect-suspend"
                  >
                    Suspend bidder
                  </button>
                )}
              </div>
            </li>
          );
        })}
      </ul>
      {shown.length === 0 && !error && (
        <p class="muted">
          No pair scores {threshold} or more{items.length ? ` (${items.length} below it)` : ''}.
        </p>
      )}
    </section>
  );
}
