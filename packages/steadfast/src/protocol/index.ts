export * from './constants.js';
export * from './sync.js';
