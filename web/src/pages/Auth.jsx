import { useState } from 'react';
import { api, fieldErrors, session, sessionFromTokens } from '../api.js';
import { label } from '../lib/search.js';
import { Field, FormError, Link, go } from '../ui.jsx';

// ---- register and log in -----------------------------------------------------------------
export default function AuthPage({ mode, onAuth }) {
  const [f, setF] = useState({ email: '', password: '', name: '', role: 'tenant' });
  const [err, setErr] = useState({});
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => setF({ ...f, [k]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    setErr({});
    setBusy(true);
    try {
      if (mode === 'register') await api('/v1/auth/register', { method: 'POST', body: f });
      const tok = await api('/v1/auth/login', { method: 'POST', body: { email: f.email, password: f.password } });
      const user = await api('/v1/me', { token: tok.access_token });
      const s = sessionFromTokens(tok, { id: user.id, name: user.name || f.email, role: user.role });
      session.set(s);
      onAuth(s);
      go(s.role === 'landlord' ? '/app/landlord' : '/app');
    } catch (ex) {
      setErr(fieldErrors(ex, ['email', 'password', 'name', 'role']));
    } finally {
      setBusy(false);
    }
  };
  const reg = mode === 'register';
  return (
    <section className="narrow">
      <h1>{reg ? 'Create an account' : 'Log in'}</h1>
      <form onSubmit={submit} noValidate>
        <FormError error={err._} />
        {reg && (
          <Field label="Name" error={err.name}>
            {(p) => <input {...p} value={f.name} onChange={set('name')} autoComplete="name" required />}
          </Field>
        )}
        <Field label="Email" error={err.email}>
          {(p) => <input {...p} type="email" value={f.email} onChange={set('email')} autoComplete="email" required />}
        </Field>
        <Field label="Password" error={err.password} hint={reg ? '10 or more characters, mixing letters and digits' : undefined}>
          {(p) => <input {...p} type="password" value={f.password} onChange={set('password')}
            autoComplete={reg ? 'new-password' : 'current-password'} required />}
        </Field>
        {reg && (
          <fieldset className="field">
            <legend>I am a</legend>
            {['tenant', 'landlord'].map((r) => (
              <label key={r} className="inline">
                <input type="radio" name="role" value={r} checked={f.role === r} onChange={set('role')} /> {label(r)}
              </label>
            ))}
            {err.role && <small className="error" role="alert">{err.role}</small>}
          </fieldset>
        )}
        <button type="submit" disabled={busy}>{reg ? 'Sign up' : 'Log in'}</button>
      </form>
      <p>{reg ? <>Have an account? <Link to="/app/login">Log in</Link></> : <>New here? <Link to="/app/register">Sign up</Link></>}</p>
    </section>
  );
}

