/** C2SP tlog-tiles served from storage and exported as static files. See docs/audit.md. */
export { tileAvailable, readTile, readEntryBundle, readTileBytes } from './read.js';
export { handleTileRequest, isEntryBundlePath, IMMUTABLE, PARTIAL, type TileContext, type TileResponse } from './handler.js';
export { exportTiles, type ExportOptions, type ExportResult } from './export.js';
