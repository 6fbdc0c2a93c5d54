#!/usr/bin/env node
// The installed entry point: the compiled CLI (built by `npm install` through the prepare script).
import '../dist/src/bin.js';
