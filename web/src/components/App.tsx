import { useEffect, useMemo, useState } from 'preact/hooks';
import { Api, ApiError } from '../api';
import { AppContext, type AppServices } from '../app';
import { authErrorInAddress, leftoverCode, sessionSource } from '../auth';
import { makeSample, ServerClock } from '../clock';
import { loadConfig, type AppConfig } from '../config';
import { formatMoney } from '../money';
import { navigate, useRoute } from '../router';
import { LiveSocket } from '../socket';
import type { User } from '../types';
import { Admin } from './Admin';
import { AdminAudit, AdminUsers } from './AdminModeration';
import { AuctionList } from './AuctionList';
import { AuctionRoom } from './AuctionRoom';
import { CreateAuction } from './CreateAuction';
import { Header } from './Header';
import { Login } from './Login';
import { AdminDisputes } from './Disputes';
import { MyAuctions, MyBids, Purchases, Watchlist } from './MyPages';
import { StartSelling } from './StartSelling';
import { AdminTrust, UserPage } from './Trust';
import { deviceId } from '../device';

export function App() {
  const [config, setConfig] = useState<AppConfig | null>(null);
  useEffect(() => {
    loadConfig().then(setConfig);
  }, []);
  if (!config) return <p class="page-loading">Loading…</p>;
  return <Shell config={config} />;
}

/** An emailed link that came back with an error (`#error=...`): taken out of the address
 * before the router reads the hash as a route, and shown on the login page. */
function linkErrorOnArrival(): string | null {
  const found = authErrorInAddress(location.href);
  if (!found) return null;
  history.replaceState(history.state, '', found.cleaned);
  return found.message;
}

function Shell({ config }: { config: AppConfig }) {
  const [sessionNote, setSessionNote] = useState<string | null>(linkErrorOnArrival);
  const [userId, setUserId] = useState<string | null>(null);
  const [me, setMe] = useState<User | null>(null);
  const [meSeq, setMeSeq] = useState(0);

  // Created once. The API asks the session for the token on every call; the socket is handed
  // every new token (a refresh re-authenticates it in place).
  const { api, socket, clock, session } = useMemo(() => {
    const clock = new ServerClock();
    const session = sessionSource(config);
    const api = new Api(config.apiBase, () => session.accessToken());
    api.deviceId = deviceId();
    api.onServerTime = (t, sent, received) => clock.add(makeSample(t, received, sent));
    const socket = new LiveSocket(config.wsUrl, null, clock);
    return { api, socket, clock, session };
  }, [config]);

  useEffect(
    () =>
      session.subscribe((change) => {
        socket.setToken(change.token);
        setUserId(change.userId);
        if (change.event === 'SIGNED_IN') setSessionNote(null);
      }),
    [session, socket],
  );

  useEffect(() => {
    // A token the socket node refused (say, it expired while the laptop slept): ask the session
    // for its current one, which supabase-js refreshes when it has to.
    socket.onAuthRejected = (rejected) => {
      session.accessToken().then(
        (current) => current && current !== rejected && socket.setToken(current),
        () => {},
      );
    };
    socket.start();
    return () => socket.stop();
  }, [socket, session]);

  useEffect(() => {
    if (session.kind !== 'supabase') return;
    let cancelled = false;
    // After supabase-js has looked at the address: a link's code it could not use (opened in
    // another browser than the one that asked for it) is taken out, with a word why.
    session.accessToken().then((token) => {
      const cleaned = leftoverCode(location.href);
      if (cancelled || !cleaned) return;
      history.replaceState(history.state, '', cleaned);
      if (!token) setSessionNote('Open the sign-in link in the browser where you asked for it, or ask for a new one.');
    });
    return () => {
      cancelled = true;
    };
  }, [session]);

  useEffect(() => {
    setMe((shown) => (shown && shown.id === userId ? shown : null)); // a refresh keeps them shown
    if (!userId) return;
    let cancelled = false;
    api
      .me()
      .then((user) => !cancelled && setMe(user))
      .catch((e) => {
        if (cancelled) return;
        if (e instanceof ApiError && e.status === 401) {
          session.signOut();
          setSessionNote('Your session has expired. Please sign in again.');
        } else {
          setSessionNote(`Could not load your profile: ${e instanceof Error ? e.message : e}`);
        }
      });
    return () => {
      cancelled = true;
    };
  }, [userId, api, session, meSeq]);

  const services: AppServices = useMemo(
    () => ({
      config,
      api,
      socket,
      clock,
      session,
      userId,
      me,
      refreshMe: () => setMeSeq((n) => n + 1),
      money: (amount) => formatMoney(amount, config.currency),
      signOut: () => {
        session.signOut().finally(() => navigate('#/'));
      },
    }),
    [config, api, socket, clock, session, userId, me],
  );

  const route = useRoute();

  return (
    <AppContext.Provider value={services}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <Header />
      <main id="main" tabIndex={-1}>
        {sessionNote && (
          <p class="banner banner-warn" role="status">
            {sessionNote}{' '}
            <button type="button" class="link-button" onClick={() => setSessionNote(null)}>
              Dismiss
            </button>
          </p>
        )}
        {route.name === 'list' && <AuctionList />}
        {route.name === 'auction' && <AuctionRoom key={route.id} id={route.id} />}
        {route.name === 'new' && <CreateAuction />}
        {route.name === 'sell' && <StartSelling />}
        {route.name === 'adminDisputes' && <AdminDisputes />}
        {route.name === 'admin' && <Admin />}
        {route.name === 'adminUsers' && <AdminUsers />}
        {route.name === 'adminAudit' && <AdminAudit />}
        {route.name === 'adminTrust' && <AdminTrust />}
        {route.name === 'user' && <UserPage key={route.id} id={route.id} />}
        {route.name === 'login' && <Login />}
        {route.name === 'myBids' && <MyBids />}
        {route.name === 'myAuctions' && <MyAuctions />}
        {route.name === 'purchases' && <Purchases />}
        {route.name === 'watchlist' && <Watchlist />}
        {route.name === 'notFound' && (
          <section class="card">
            <h1>Page not found</h1>
            <p>
              <a href="#/">Back to the auctions</a>
            </p>
          </section>
        )}
      </main>
    </AppContext.Provider>
  );
}
