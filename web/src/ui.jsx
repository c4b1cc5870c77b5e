import { useEffect, useId, useState } from 'react';

// ---- routing: /app/... paths, served as index.html by the web plugin -------------
export function usePath() {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const on = () => setPath(location.pathname);
    addEventListener('popstate', on);
    return () => removeEventListener('popstate', on);
  }, []);
  return path;
}
export function go(to) {
  history.pushState(null, '', to);
  dispatchEvent(new PopStateEvent('popstate'));
  window.scrollTo(0, 0);
}
export function Link({ to, children, ...rest }) {
  return (
    <a href={to} onClick={(e) => { if (!e.ctrlKey && !e.metaKey && e.button === 0) { e.preventDefault(); go(to); } }} {...rest}>
      {children}
    </a>
  );
}

// ---- form pieces ---------------------------------------------------------------------
export function Field({ label: text, error, hint, children, id: given }) {
  const auto = useId();
  const id = given || auto;
  const errId = id + '-err';
  const child = children({ id, 'aria-invalid': error ? 'true' : undefined, 'aria-describedby': error ? errId : undefined });
  return (
    <div className={'field' + (error ? ' has-error' : '')}>
      <label htmlFor={id}>{text}</label>
      {child}
      {hint && !error && <small className="hint">{hint}</small>}
      {error && <small className="error" id={errId} role="alert">{error}</small>}
    </div>
  );
}
export function FormError({ error }) {
  return error ? <p className="error banner" role="alert">{error}</p> : null;
}

