/**
 * The profile form in Vue 3 with `v-model` (`.number` on the quantity, `.lazy` on the notes), its
 * template compiled in the page by the global build. Run after vue.global.prod.js, as an ES module.
 */
import { COLORS, freshDefaults, PLANS, SIZES, TAGS } from './profile.ts';

const { createApp, reactive, ref } = window.Vue;

createApp({
  setup() {
    const form = reactive({ ...freshDefaults(), qty: 3 });
    const renders = ref(0);
    const submitted = ref('');
    const submit = () => {
      submitted.value = JSON.stringify(form);
    };
    return { form, renders, submitted, submit, TAGS, PLANS, SIZES, COLORS };
  },
  template: `
<form id="profile" @submit.prevent="submit">
  <input name="title" v-model="form.title">
  <input name="qty" type="number" v-model.number="form.qty">
  <input name="due" type="date" v-model="form.due">
  <textarea name="notes" v-model.lazy="form.notes"></textarea>
  <input name="agree" type="checkbox" v-model="form.agree">
  <input v-for="tag in TAGS" :key="tag" name="tags" type="checkbox" :value="tag" v-model="form.tags">
  <input v-for="plan in PLANS" :key="plan" name="plan" type="radio" :value="plan" v-model="form.plan">
  <select name="size" v-model="form.size"><option v-for="size in SIZES" :key="size" :value="size">{{ size }}</option></select>
  <select name="colors" multiple v-model="form.colors"><option v-for="color in COLORS" :key="color" :value="color">{{ color }}</option></select>
  <button type="submit">Save</button>
  <button type="button" id="rerender" @click="renders++">Re-render</button>
  <output id="renders">{{ renders }}</output>
  <pre id="state">{{ JSON.stringify(form) }}</pre>
  <pre id="submitted">{{ submitted }}</pre>
</form>`,
}).mount('#root');
