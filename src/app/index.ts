/** @module The App: every service giftguard runs, built in one place (see ARCHITECTURE.md). */
export { createApp } from './create-app.js';
export { layer, prepareApp } from './layers.js';
