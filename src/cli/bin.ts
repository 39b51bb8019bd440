#!/usr/bin/env node
// The `guzheng` executable: runs the CLI and exits with its code (see main.ts).
import { run } from './main.js';

process.exitCode = await run(process.argv.slice(2));
