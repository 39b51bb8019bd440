/**
 * FileDrop: a drop zone that is also a labelled file input, so a keyboard or screen-reader user
 * picks files the ordinary way and a mouse user may drop them. The files never leave the page
 * here; callers hash them.
 */
import { useState } from 'preact/hooks';

/** FileDrop calls `onFiles` with the files picked or dropped. */
export function FileDrop({ label, multiple = false, accept, onFiles, id = 'files' }: { label: string; multiple?: boolean; accept?: string; onFiles: (files: File[]) => void; id?: string }) {
  const [over, setOver] = useState(false);
  return (
    <div
      class={over ? 'drop over' : 'drop'}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const list = e.dataTransfer?.files;
        if (list !== undefined && list.length > 0) onFiles(multiple ? [...list] : [list[0] as File]);
      }}
    >
      <label for={id}>{label}</label>
      <input
        id={id}
        type="file"
        multiple={multiple}
        {...(accept !== undefined ? { accept } : {})}
        onChange={(e) => {
          const input = e.target as HTMLInputElement;
          if (input.files !== null && input.files.length > 0) onFiles([...input.files]);
          input.value = '';
        }}
      />
    </div>
  );
}
