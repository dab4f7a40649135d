/**
 * The profile form in Preact with hooks: text fields through `onInput` (Preact's own events, no
 * compat layer), boxes and selects through `onChange`; one state object updated by spreading it.
 */
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { COLORS, freshDefaults, PLANS, SIZES, TAGS } from './profile.ts';

function ProfileForm() {
  const [form, setForm] = useState(freshDefaults);
  const [renders, setRenders] = useState(0);
  const [submitted, setSubmitted] = useState(null);
  const set = (name, value) => setForm({ ...form, [name]: value });
  const onValue = (event) => set(event.currentTarget.name, event.currentTarget.value);
  const onTag = (event) => {
    const { checked, value } = event.currentTarget;
    set('tags', checked ? [...form.tags, value] : form.tags.filter((tag) => tag !== value));
  };
  return (
    <form
      id="profile"
      onSubmit={(event) => {
        event.preventDefault();
        setSubmitted(form);
      }}
    >
      <input name="title" value={form.title} onInput={onValue} />
      <input name="qty" type="number" value={form.qty} onInput={onValue} />
      <input name="due" type="date" value={form.due} onInput={onValue} />
      <textarea name="notes" value={form.notes} onInput={onValue} />
      <input
        name="agree"
        type="checkbox"
        checked={form.agree}
        onChange={(event) => set('agree', event.currentTarget.checked)}
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
        onChange={(event) =>
          set(
            'colors',
            Array.from(event.currentTarget.selectedOptions, (option) => option.value),
          )
        }
      >
        {COLORS.map((color) => (
          <option key={color} value={color} selected={form.colors.includes(color)}>
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

render(<ProfileForm />, document.getElementById('root'));
