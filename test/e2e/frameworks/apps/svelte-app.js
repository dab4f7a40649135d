/** Mounts the Svelte 5 profile form (compiled by the test setup's esbuild plugin). */
import { mount } from 'svelte';
import ProfileForm from './svelte-form.svelte';

mount(ProfileForm, { target: document.getElementById('root') });
