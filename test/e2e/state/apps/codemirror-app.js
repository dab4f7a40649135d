/**
 * A CodeMirror 6 editor (an editor with its own model, not a form field) saved through the
 * service's state, as the README shows: saveState on each change the user makes, the saved text
 * on load (getState), and subscribe for a value that arrives later (the service's start, another
 * tab, the server). `window.editor` is the view, for the tests to read the editor's own model.
 */
import { EditorState, Transaction } from '@codemirror/state';
import { EditorView } from '@codemirror/view';

const KEY = 'release-notes';
const service = window.autoSaveService;

const editor = new EditorView({
  parent: document.getElementById('editor'),
  state: EditorState.create({
    doc: service.getState(KEY, ''),
    extensions: [
      EditorView.updateListener.of((update) => {
        // Text put in by the subscription below is saved already.
        const remote = update.transactions.some((transaction) => transaction.annotation(Transaction.remote));
        if (update.docChanged && !remote) service.saveState(KEY, update.state.doc.toString());
      }),
    ],
  }),
});

service.subscribe(KEY, (value) => {
  const text = typeof value === 'string' ? value : '';
  if (text === editor.state.doc.toString()) return;
  editor.dispatch({
    changes: { from: 0, to: editor.state.doc.length, insert: text },
    annotations: Transaction.remote.of(true),
  });
});

window.editor = editor;
