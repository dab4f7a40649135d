/**
 * The profile form as React controlled inputs (one state object, updated by spreading it, as most
 * React forms are written), for React 18 and 19 alike (the pages' bundles alias `react`), and the
 * same form behind a two-route history router.
 */
import { useEffect, useState } from 'react';
import { COLORS, freshDefaults, PLANS, SIZES, TAGS } from './profile.ts';

export function ProfileForm() {
  const [form, setForm] = useState(freshDefaults);
  const [renders, setRenders] = useState(0);
  const [submitted, setSubmitted] = useState(null);
  const set = (name, value) => setForm({ ...form, [name]: value });
  const onValue = (event) => set(event.target.name, event.target.value);
  const onTag = (event) => {
    const { checked, value } = event.target;
    set('tags', checked ? [...form.tags, value] : form.tags.filter((tag) => tag !== value));
  };
  return (
    <form
      id="profile"
      // Attached when React commits the form (hydration included); never called on the server.
      ref={(form) => {
        if (form) window.committedAt ??= performance.now();
      }}
      onSubmit={(event) => {
        event.preventDefault();
        setSubmitted(form);
      }}
    >
      <input name="title" value={form.title} onChange={onValue} />
      <input name="qty" type="number" value={form.qty} onChange={onValue} />
      <input name="due" type="date" value={form.due} onChange={onValue} />
      <textarea name="notes" value={form.notes} onChange={onValue} />
      <input
        name="agree"
        type="checkbox"
        checked={form.agree}
        onChange={(event) => set('agree', event.target.checked)}
      />
      {TAGS.map((tag) => (
        <input
          key={tag}
          name="tags"
          type="checkbox"
          value={tag}
          checked={form.tags.includes(tag)}
          onChange={onTag}
        />
      ))}
      {PLANS.map((plan) => (
        <input
          key={plan}
          name="plan"
          type="radio"
          value={plan}
          checked={form.plan === plan}
          onChange={onValue}
        />
      ))}
      <select name="size" value={form.size} onChange={onValue}>
        {SIZES.map((size) => (
          <option key={size} value={size}>
            {size}
          </option>
        ))}
      </select>
      <select
        name="colors"
        multiple
        value={form.colors}
        onChange={(event) =>
          set(
            'colors',
            Array.from(event.target.selectedOptions, (option) => option.value),
          )
        }
      >
        {COLORS.map((color) => (
          <option key={color} value={color}>
            {color}
          </option>
        ))}
      </select>
      <button type="submit">Save</button>
      <button type="button" id="rerender" onClick={() => setRenders(renders + 1)}>
        Re-render
      </button>
      <output id="renders">{renders}</output>
      <pre id="state">{JSON.stringify(form)}</pre>
      <pre id="submitted">{submitted ? JSON.stringify(submitted) : ''}</pre>
    </form>
  );
}

export function Routed() {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const onPop = () => setPath(location.pathname);
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const go = (event) => {
    event.preventDefault();
    const to = new URL(event.currentTarget.href).pathname;
    history.pushState(null, '', to);
    setPath(to);
  };
  return (
    <main>
      <nav>
        <a id="to-form" href="form" onClick={go}>
          Form
        </a>{' '}
        <a id="to-other" href="other" onClick={go}>
          Other
        </a>
      </nav>
      {path.endsWith('/form') ? <ProfileForm /> : <p id="other">Somewhere else</p>}
    </main>
  );
}
