import './app.css';
import './controls.css';
import { mount } from 'svelte';
import App from './App.svelte';
import { theme } from './lib/theme.svelte.js';

// Before the first paint, so a chosen light/dark theme never flashes the other one.
theme.init();

mount(App, { target: document.getElementById('app')! });

if ('serviceWorker' in navigator && import.meta.env.PROD) {
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err) => {
    // No offline shell; the app itself still works.
    console.warn('service worker registration failed', err);
  });
}
