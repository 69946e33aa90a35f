// A model and a data set that number the same classes differently. TF DeepLab trains ADE20K with
// 151 classes, 'other' (the pixels SceneParsing leaves unlabelled) first; the data set's labels
// number the 150 from 0 with 'other' ignored. Evaluated as TF evaluates (its label value i is
// class i, 0 ignored), each labelled pixel's class moves up by one; a pixel the model calls
// 'other' counts against the class it is.

/** A label map: class ids per pixel, `ignoreIndex` where none is. */
export interface LabelMap {
  width: number;
  height: number;
  indices: Uint8Array;
}

/** Whether the model's classes are the data set's with 'other' first. */
export function hasOtherFirst(modelClasses: readonly string[], datasetClasses: readonly string[]): boolean {
  return modelClasses.length === datasetClasses.length + 1 && modelClasses[0] === 'other' && datasetClasses.every((name, i) => name === modelClasses[i + 1]);
}

/** The data set's label read in the model's numbering: every class id + 1, the ignore index kept. */
export function shiftedPastOther<L extends LabelMap>(read: (path: string) => L, ignoreIndex: number): (path: string) => L {
  return (path) => {
    const label = read(path);
    const indices = label.indices.map((c) => (c === ignoreIndex ? c : c + 1));
    return { ...label, indices };
  };
}
