/**
 * The profile form with react-hook-form: registered (uncontrolled) inputs, `defaultValues`, and a
 * record loaded into the form with `reset` 300 ms after the page's load, as an app fetching the
 * record it edits would. `sku` is a field the tests never touch.
 */
import { useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { useForm } from 'react-hook-form';
import { COLORS, freshDefaults, PLANS, RECORD, SIZES, TAGS } from './profile.ts';

function ProfileForm() {
  const { register, handleSubmit, watch, reset } = useForm({
    defaultValues: { ...freshDefaults(), sku: 'SKU-DEFAULT' },
  });
  const [submitted, setSubmitted] = useState(null);
  const [renders, setRenders] = useState(0);
  useEffect(() => {
    const load = () =>
      setTimeout(() => {
        reset(RECORD);
        window.recordLoaded = true;
      }, 300);
    if (document.readyState === 'complete') load();
    else window.addEventListener('load', load, { once: true });
  }, [reset]);
  const values = watch();
  return (
    <form id="profile" onSubmit={handleSubmit((data) => setSubmitted(data))}>
      <input {...register('title')} />
      <input type="number" {...register('qty')} />
      <input type="date" {...register('due')} />
      <textarea {...register('notes')} />
      <input type="checkbox" {...register('agree')} />
      {TAGS.map((tag) => (
        <input key={tag} type="checkbox" value={tag} {...register('tags')} />
      ))}
      {PLANS.map((plan) => (
        <input key={plan} type="radio" value={plan} {...register('plan')} />
      ))}
      <select {...register('size')}>
        {SIZES.map((size) => (
          <option key={size} value={size}>
            {size}
          </option>
        ))}
      </select>
      <select multiple {...register('colors')}>
        {COLORS.map((color) => (
          <option key={color} value={color}>
            {color}
          </option>
        ))}
      </select>
      <input {...register('sku')} />
      <button type="submit">Save</button>
      <button type="button" id="rerender" onClick={() => setRenders(renders + 1)}>
        Re-render
      </button>
      <output id="renders">{renders}</output>
      <pre id="state">{JSON.stringify(values)}</pre>
      <pre id="submitted">{submitted ? JSON.stringify(submitted) : ''}</pre>
    </form>
  );
}

createRoot(document.getElementById('root')).render(<ProfileForm />);
