#!/usr/bin/env node
/**
 * The `guzheng` executable (package.json "bin"; `npm start` runs `guzheng serve` through it).
 *
 * CommonJS on purpose: it sets UV_THREADPOOL_SIZE before libuv's thread pool starts. Every
 * LevelDB operation of classic-level (reads, and writes with their fsync) and Node's async file
 * calls run on that pool, and its default of 4 threads let fsyncs, proof reads and the publisher's
 * reads queue behind each other: at a steady 1,000 receipt requests/s the median receipt took
 * ~700 ms with 4 threads and ~60 ms with 16 (docs/benchmarks.md, scenario 4). libuv reads the
 * variable once, when the pool first starts, and Node's ESM loader starts it while it loads an
 * ESM entry file, before any of that file's code runs; a CommonJS entry runs first. An explicit
 * UV_THREADPOOL_SIZE in the environment is kept.
 */
process.env.UV_THREADPOOL_SIZE ??= '16';
void import('./bin.js');
