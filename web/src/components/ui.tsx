import { STATUS_LABELS, useApp, useServerNow } from '../app';
import { countdownFor } from '../clock';

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
