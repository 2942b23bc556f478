import { useApp, useConnectionStatus } from '../app';
import { NotificationBell } from './NotificationBell';

export function Header() {
  const { me, userId, socket, signOut } = useApp();
  const status = useConnectionStatus(socket);
  const canSell = me?.role === 'seller' || me?.role === 'admin';

  return (
    <header class="site-header">
      <div class="header-row">
        <a class="brand" href="#/">
          Live Auctions
        </a>
        <span
          class={`conn conn-${status}`}
          data-testid="connection-status"
          role="status"
          aria-label={`Live updates: ${status}`}
          title="Live updates connection"
        >
          {status}
        </span>
        <div class="header-user">
          {userId && <NotificationBell />}
          {userId ? (
            <>
              <span class="current-user" data-testid="current-user">
                {me ? (
                  <>
                    {me.name || me.email} <span class="role">({me.role})</span>
                  </>
                ) : (
                  'Signed in'
                )}
              </span>
              <button type="button" class="button-quiet" data-testid="logout" onClick={signOut}>
                Sign out
              </button>
            </>
          ) : (
            <a class="button-link" href="#/login" data-testid="login-link">
              Sign in
            </a>
          )}
        </div>
      </div>
      <nav class="main-nav" aria-label="Main">
        <a href="#/">Auctions</a>
        {userId && (
          <>
            <a href="#/me/bids" data-testid="my-bids-link">
              My bids
            </a>
            <a href="#/me/watchlist" data-testid="watchlist-link">
              Watchlist
            </a>
            <a href="#/me/purchases" data-testid="purchases-link">
              Purchases
            </a>
          </>
        )}
        {canSell && (
          <a href="#/me/auctions" data-testid="my-auctions-link">
            My auctions
          </a>
        )}
        {canSell && (
          <a href="#/new" data-testid="new-auction-link">
            New auction
          </a>
        )}
        {userId && me && !canSell && (
          <a href="#/sell" data-testid="start-selling-nav">
            Start selling
          </a>
        )}
        {canSell && (
          <a href="#/sell" data-testid="seller-profile-link">
            Seller profile
          </a>
        )}
        {me?.role === 'admin' && (
          <a href="#/admin" data-testid="admin-link">
            Admin
          </a>
        )}
      </nav>
    </header>
  );
}
