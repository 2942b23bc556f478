import { useEffect, useMemo, useState } from 'preact/hooks';
import { Api, ApiError } from '../api';
import { AppContext, tokenStore, type AppServices } from '../app';
import { makeSample, ServerClock } from '../clock';
import { loadConfig, type AppConfig } from '../config';
import { formatMoney } from '../money';
import { navigate, useRoute } from '../router';
import { LiveSocket } from '../socket';
import type { User } from '../types';
import { Admin } from './Admin';
import { AuctionList } from './AuctionList';
import { AuctionRoom } from './AuctionRoom';
import { CreateAuction } from './CreateAuction';
import { Header } from './Header';
import { Login } from './Login';
import { MyAuctions, MyBids, Purchases, Watchlist } from './MyPages';

export function App() {
  const [config, setConfig] = useState<AppConfig | null>(null);
  useEffect(() => {
    loadConfig().then(setConfig);
  }, []);
  if (!config) return <p class="page-loading">Loading…</p>;
  return <Shell config={config} />;
}

function Shell({ config }: { config: AppConfig }) {
  const [token, setToken] = useState<string | null>(() => tokenStore.get());
  const [me, setMe] = useState<User | null>(null);
  const [sessionNote, setSessionNote] = useState<string | null>(null);

  // Created once: the API reads the token lazily, the socket is told when it changes.
  const { api, socket, clock } = useMemo(() => {
    const clock = new ServerClock();
    const api = new Api(config.apiBase, () => tokenStore.get());
    api.onServerTime = (t, sent, received) => clock.add(makeSample(t, received, sent));
    const socket = new LiveSocket(config.wsUrl, tokenStore.get(), clock);
    return { api, socket, clock };
  }, [config]);

  useEffect(() => {
    socket.start();
    return () => socket.stop();
  }, [socket]);

  useEffect(() => {
    socket.setToken(token);
    setMe(null);
    if (!token) return;
    let cancelled = false;
    api
      .me()
      .then((user) => !cancelled && setMe(user))
      .catch((e) => {
        if (cancelled) return;
        if (e instanceof ApiError && e.status === 401) {
          tokenStore.set(null);
          setToken(null);
          setSessionNote('Your session has expired. Please sign in again.');
        } else {
          setSessionNote(`Could not load your profile: ${e instanceof Error ? e.message : e}`);
        }
      });
    return () => {
      cancelled = true;
    };
  }, [token, api, socket]);

  const services: AppServices = useMemo(
    () => ({
      config,
      api,
      socket,
      clock,
      token,
      me,
      money: (amount) => formatMoney(amount, config.currency),
      signIn: (t: string) => {
        tokenStore.set(t);
        setSessionNote(null);
        setToken(t);
      },
      signOut: () => {
        tokenStore.set(null);
        setToken(null);
        navigate('#/');
      },
    }),
    [config, api, socket, clock, token, me],
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
        {route.name === 'admin' && <Admin />}
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
