/**
 * The few DOM types the verification page uses, declared structurally here so that src/web
 * type-checks in the project's one Node-oriented TypeScript program without the global `dom`
 * lib (which would retype fetch, timers and bodies for all of src/). {@link browser} reads the
 * real objects from `globalThis` at run time; in a browser they satisfy these interfaces.
 */

/** A file the user picked or dropped (DOM `File`). */
export interface DomFile {
  readonly name: string;
  readonly size: number;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

/** A DOM `FileList`. */
export interface DomFileList {
  readonly length: number;
  readonly [index: number]: DomFile | undefined;
}

/** A DOM event (the parts used). */
export interface DomEvent {
  preventDefault(): void;
}

/** A drag-and-drop event. */
export interface DomDragEvent extends DomEvent {
  readonly dataTransfer: { readonly files: DomFileList } | null;
}

/** The parts of `HTMLElement` (and its input, textarea, details, progress, button kinds) used. */
export interface DomElement {
  textContent: string | null;
  className: string;
  lang: string;
  hidden: boolean;
  readonly dataset: Record<string, string | undefined>;
  readonly classList: { add(name: string): void; remove(name: string): void };
  append(...nodes: DomElement[]): void;
  replaceChildren(...nodes: DomElement[]): void;
  addEventListener(type: string, listener: (event: DomDragEvent) => void): void;
  dispatchEvent(event: DomEvent): boolean;
  scrollIntoView(options?: { block?: 'start' | 'center' | 'end' | 'nearest' }): void;
}

/** `<input>`, `<textarea>`. */
export interface DomInput extends DomElement {
  value: string;
  files: DomFileList | null;
  disabled: boolean;
}

/** `<details>`. */
export interface DomDetails extends DomElement {
  open: boolean;
}

/** `<progress>`. */
export interface DomProgress extends DomElement {
  value: number;
}

/** The globals the page uses. */
export interface Browser {
  readonly document: {
    getElementById(id: string): DomElement | null;
    createElement(tag: string): DomElement;
    readonly documentElement: DomElement;
  };
  readonly location: { readonly protocol: string; readonly hash: string };
  readonly Event: new (type: string) => DomEvent;
  /** WebCrypto: absent (or without `subtle`) outside a secure context (plain http from a LAN address). */
  readonly crypto?: { readonly subtle?: unknown };
}

/** browser returns the page's globals, typed by the interfaces above. */
export function browser(): Browser {
  return globalThis as unknown as Browser;
}
