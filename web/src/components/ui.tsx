import { STATUS_LABELS, useApp, useServerNow } from '../app';
import { countdownFor, deadlineFor } from '../clock';

export function StatusBadge({ status, testId }: { status: string | null; testId?: string }) {
  if (!status) return null;
  return (
    <span class={`badge badge-${status}`} data-testid={testId} data-status={status}>
      {STATUS_LABELS[status] ?? status}
    </span>
  );
}

/** Time left by the server's clock; `ms` rides along as a data attribute for tests. */
export function Countdown(props: {
  status: string | null;
  goLiveAt: string | null;
  endsAt: string | null;
  testId?: string;
  /** Re-render period; lists use a slower tick than the room. */
  everyMs?: number;
}) {
  const { clock } = useApp();
  const now = useServerNow(clock, props.everyMs ?? 250);
  const view = countdownFor(props.status ?? '', props.goLiveAt, props.endsAt, now);
  return (
    <span
      class={`countdown${view.urgent ? ' countdown-urgent' : ''}`}
      role="timer"
      data-testid={props.testId}
      data-remaining-ms={Math.round(view.ms)}
    >
      {view.label}
    </span>
  );
}

/** Time left until a deadline after the hammer, by the server's clock (never the browser's). */
export function Deadline(props: { label: string; until: string | null | undefined; testId?: string }) {
  const { clock } = useApp();
  const now = useServerNow(clock, 1000);
  if (!props.until) return null;
  const view = deadlineFor(props.until, now);
  return (
    <p class="deadline">
      <span class="muted">{props.label} </span>
      <span
        class={`countdown${view.urgent ? ' countdown-urgent' : ''}`}
        role="timer"
        data-testid={props.testId}
        data-remaining-ms={Math.round(view.ms)}
        title={new Date(props.until).toLocaleString()}
      >
        {view.label}
      </span>
    </p>
  );
}
