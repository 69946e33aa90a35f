// The files of a folder dropped on a page: DataTransferItem.webkitGetAsEntry() gives each dropped
// item as a file-system entry; a folder's entries are read (in batches, until an empty one) and
// its files collected with their paths inside the drop ('camvid/images/train/a.png'). Written
// against the entries' few members so it runs on anything shaped like them.

/** The members of FileSystemEntry, FileSystemFileEntry and FileSystemDirectoryEntry used here. */
export interface DroppedEntry {
  isFile: boolean;
  isDirectory: boolean;
  /** The path inside the drop, '/' first. */
  fullPath: string;
  file?(success: (file: File) => void, failure?: (e: unknown) => void): void;
  createReader?(): { readEntries(success: (entries: DroppedEntry[]) => void, failure?: (e: unknown) => void): void };
}

/** A file of a dropped folder and its path inside the drop. */
export interface FolderFile {
  path: string;
  file: Blob;
}

function fileOf(entry: DroppedEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file!(resolve, (e) => reject(new Error(`${entry.fullPath}: cannot read the dropped file (${(e as Error)?.message ?? e})`))));
}

/** Every entry of a folder: readEntries gives them in batches (Chromium's: 100), then an empty one. */
async function entriesOf(entry: DroppedEntry): Promise<DroppedEntry[]> {
  const reader = entry.createReader!();
  const all: DroppedEntry[] = [];
  for (;;) {
    const batch = await new Promise<DroppedEntry[]>((resolve, reject) =>
      reader.readEntries(resolve, (e) => reject(new Error(`${entry.fullPath}: cannot list the dropped folder (${(e as Error)?.message ?? e})`))),
    );
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

/** The files under the entries, folders walked, with their paths without the leading '/'. */
export async function filesFromEntries(entries: readonly DroppedEntry[]): Promise<FolderFile[]> {
  const out: FolderFile[] = [];
  const walk = async (entry: DroppedEntry): Promise<void> => {
    if (entry.isFile) out.push({ path: entry.fullPath.replace(/^\/+/, ''), file: await fileOf(entry) });
    else if (entry.isDirectory) for (const child of await entriesOf(entry)) await walk(child);
  };
  for (const entry of entries) await walk(entry);
  return out;
}

/**
 * The files of what was dropped (folders walked). Call it in the drop event's handler, before
 * any await: the DataTransfer's items are readable only while the event is dispatched.
 */
export function filesFromDataTransfer(transfer: DataTransfer): Promise<FolderFile[]> {
  const entries = Array.from({ length: transfer.items.length }, (_, i) => transfer.items[i])
    .filter((item) => item.kind === 'file')
    .map((item) => item.webkitGetAsEntry() as unknown as DroppedEntry | null)
    .filter((e): e is DroppedEntry => e !== null);
  return filesFromEntries(entries);
}
