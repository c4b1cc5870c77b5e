// The shell: header, navigation, the bell, and the routes under /app.
import { useEffect, useRef, useState } from 'react';
import { ApiError, EXPIRED, api, session } from './api.js';
import { closeHub } from './ws.js';
import { Link, go, usePath } from './ui.jsx';
import AuthPage from './pages/Auth.jsx';
import Bell from './pages/Bell.jsx';
import BookingsPage from './pages/Bookings.jsx';
import ChatPage from './pages/Chat.jsx';
import LandlordPage from './pages/Landlord.jsx';
import LeasesPage, { LeasePage, NewLeasePage } from './pages/Leases.jsx';
import ListingPage from './pages/Listing.jsx';
import ManagePage from './pages/Manage.jsx';
import SearchPage from './pages/Search.jsx';

const UUID = '([0-9a-f-]{36})';

function route(path, me, setMe) {
  let m;
  const need = (role, el) => (!me ? <NeedLogin role={role} /> : role && me.role !== role ? <NeedLogin role={role} /> : el);
  if ((m = path.match(new RegExp(`^/app/listings/${UUID}$`)))) return <ListingPage key={m[1]} id={m[1]} me={me} />;
  if (path === '/app/login') return <AuthPage mode="login" onAuth={setMe} />;
  if (path === '/app/register') return <AuthPage mode="register" onAuth={setMe} />;
  if (path === '/app/landlord') return need('landlord', <LandlordPage />);
  if ((m = path.match(new RegExp(`^/app/landlord/${UUID}$`)))) return need('landlord', <ManagePage key={m[1]} id={m[1]} me={me} />);
  if (path === '/app/bookings') return need(null, <BookingsPage me={me} />);
  if (path === '/app/chat') return need(null, <ChatPage me={me} />);
  if ((m = path.match(new RegExp(`^/app/chat/${UUID}$`)))) return need(null, <ChatPage id={m[1]} me={me} />);
  if (path === '/app/leases') return need(null, <LeasesPage me={me} />);
  if (path === '/app/leases/new') return need('landlord', <NewLeasePage query={location.search} />);
  if ((m = path.match(new RegExp(`^/app/leases/${UUID}$`)))) return need(null, <LeasePage key={m[1]} id={m[1]} me={me} />);
  return <SearchPage />;
}

export default function App() {
  const path = usePath();
  const [me, setMe] = useState(session.get());
  const logout = () => {
    const s = session.get();
    // revoke the refresh token (best effort: the session is gone here either way)
    if (s?.refresh) api('/v1/auth/logout', { method: 'POST', body: { refresh_token: s.refresh } }).catch(() => {});
    session.set(null); closeHub(); setMe(null); go('/app');
  };
  // the refresh token was refused (expired, revoked): log in again
  useEffect(() => {
    const on = () => { closeHub(); setMe(null); go('/app/login'); };
    addEventListener(EXPIRED, on);
    return () => removeEventListener(EXPIRED, on);
  }, []);
  const main = useRef(null);
  // focus the new page after a navigation, not on load (Tab then starts at the skip link)
  const loaded = useRef(false);
  useEffect(() => { if (loaded.current) main.current?.focus(); loaded.current = true; }, [path]);

  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <Link to="/app" className="brand">RentEzy</Link>
        <nav aria-label="Main">
          <Link to="/app">Search</Link>
          {me?.role === 'landlord' && <Link to="/app/landlord">My listings</Link>}
          {me && <Link to="/app/bookings">Bookings</Link>}
          {me && <Link to="/app/chat">Messages</Link>}
          {me && <Link to="/app/leases">Leases</Link>}
          {me ? (
            <>
              <Bell user={me.id} />
              <span className="who" aria-label="Signed in as">{me.name}</span>
              <button type="button" className="link" onClick={logout}>Log out</button>
            </>
          ) : (
            <>
              <Link to="/app/login">Log in</Link>
              <Link to="/app/register">Sign up</Link>
            </>
          )}
        </nav>
      </header>
      <main id="main" tabIndex={-1} ref={main}>{route(path, me, setMe)}</main>
    </>
  );
}

function NeedLogin({ role }) {
  return <p>Please <Link to="/app/login">log in</Link>{role ? ` as a ${role}` : ''} to see this page.</p>;
}

export { ApiError };
