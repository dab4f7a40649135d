/**
 * An invoice written with `useSavedState` only (steadfast/react, as an app imports it): a note, and
 * rows the user adds. Everything shown is rendered from the hook's state. The form opts out of the
 * form drafts (`data-autosave="off"`), so nothing but the saved state can bring a value back.
 */
import { useSavedState } from 'steadfast/react';

export function InvoiceApp() {
  const [note, setNote] = useSavedState('invoice-note', '');
  const [rows, setRows] = useSavedState('invoice-rows', []);
  const setRow = (index, field, value) =>
    setRows((previous) => previous.map((row, at) => (at === index ? { ...row, [field]: value } : row)));
  return (
    <form id="invoice" data-autosave="off" onSubmit={(event) => event.preventDefault()}>
      <input id="note" value={note} onChange={(event) => setNote(event.target.value)} />
      {rows.map((row, index) => (
        <div className="row" key={index}>
          <input
            className="item"
            value={row.item}
            onChange={(event) => setRow(index, 'item', event.target.value)}
          />
          <input
            className="qty"
            type="number"
            value={row.qty}
            onChange={(event) => setRow(index, 'qty', event.target.value)}
          />
        </div>
      ))}
      <button
        id="add-row"
        type="button"
        onClick={() => setRows((previous) => [...previous, { item: '', qty: '1' }])}
      >
        Add a row
      </button>
      <output id="state">{JSON.stringify({ note, rows })}</output>
    </form>
  );
}
