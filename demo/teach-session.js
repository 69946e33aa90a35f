// The teach mode's run as the page keeps it in this browser's private file system (OPFS), beside
// the library's checkpoints of the same run (fineTune's `checkpoint` store): what a resume after a
// reload needs that the checkpoint does not hold, the painted images and the form. session.json
// (the model chosen, the settings, the class list, the images' names and sizes), then each
// image's RGB pixels and labels as raw bytes.

/** The run's directory (the checkpoint store fineTune is given, and this session's files). */
export const RUN_STORE = 'deeplab-demo/teach-run';

async function runDir(create) {
  const root = await navigator.storage.getDirectory();
  let dir = root;
  for (const part of RUN_STORE.split('/')) dir = await dir.getDirectoryHandle(part, { create });
  return dir;
}

async function writeFile(dir, name, bytes) {
  const stream = await (await dir.getFileHandle(name, { create: true })).createWritable();
  try {
    await stream.write(bytes);
    await stream.close();
  } catch (e) {
    await stream.abort().catch(() => {});
    throw e;
  }
}

async function readFile(dir, name) {
  return new Uint8Array(await (await (await dir.getFileHandle(name)).getFile()).arrayBuffer());
}

/** Removes the kept run (its checkpoint and session). */
export async function clearRun() {
  const root = await navigator.storage.getDirectory();
  const [top, name] = RUN_STORE.split('/');
  try {
    await (await root.getDirectoryHandle(top)).removeEntry(name, { recursive: true });
  } catch (e) {
    if (e.name !== 'NotFoundError') throw e;
  }
}

/**
 * Starts a new kept run: the old one removed, then `session` written ({ model, settings, classes,
 * classesText, items: [{ name, rgb, labels }] }); the images go first, session.json last, so a
 * session without it was not written whole.
 */
export async function saveSession(session) {
  await clearRun();
  const dir = await runDir(true);
  for (const [k, item] of session.items.entries()) {
    await writeFile(dir, `image-${k}.rgb`, item.rgb.data);
    await writeFile(dir, `labels-${k}.bin`, item.labels);
  }
  const { items, ...rest } = session;
  const json = { ...rest, items: items.map((i) => ({ name: i.name, width: i.rgb.width, height: i.rgb.height })) };
  await writeFile(dir, 'session.json', new TextEncoder().encode(JSON.stringify(json)));
}

/** The kept session (with its images' pixels and labels), or null where none was written whole. */
export async function loadSession() {
  let dir;
  try {
    dir = await runDir(false);
    const session = JSON.parse(new TextDecoder().decode(await readFile(dir, 'session.json')));
    for (const [k, item] of session.items.entries()) {
      item.rgb = { width: item.width, height: item.height, data: await readFile(dir, `image-${k}.rgb`) };
      item.labels = await readFile(dir, `labels-${k}.bin`);
    }
    return session;
  } catch (e) {
    if (e.name === 'NotFoundError' || e instanceof SyntaxError) return null;
    throw e;
  }
}
